import math

from tests.helpers import epoch_line, parse_text


def test_epoch_line_fields():
    run = parse_text(epoch_line(0, 4, 0.0170, best=True))
    epoch = run.folds[0].epochs[0]
    assert (epoch.fold, epoch.epoch, epoch.train_loss, epoch.val_loss, epoch.val_r2) == (0, 4, 0.0141, 0.0152, 0.017)
    assert (epoch.lr, epoch.time_s, epoch.best, epoch.line) == (5e-5, 31.4, True, 1)


def test_epoch_after_progress_bar_on_the_same_line():
    text = "Epoch 0: 100%|##########| 5/5 [00:06<00:00, v_num=0, val/mean_r2=-0.133]  " + epoch_line(1, 0, -0.1334)
    assert parse_text(text).folds[0].epochs[0].val_r2 == -0.1334


def test_nan_r2():
    epoch = parse_text(epoch_line(2, 7, "nan", "nan")).folds[0].epochs[0]
    assert math.isnan(epoch.val_r2) and math.isnan(epoch.train_loss)


def test_three_digit_epochs():
    assert parse_text(epoch_line(3, 123, 0.3)).folds[0].epochs[0].epoch == 123
