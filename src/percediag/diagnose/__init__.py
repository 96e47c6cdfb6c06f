"""Diagnose: from findings and epoch curves to causes and a ranked list of fixes.

forecasts (percediag.trajectory: numpy fits per fold, a layer below the rules,
which judge them too) -> signals -> causes (likelihood ratios on a prior,
from configs/causes.yaml) -> fixes (configs/fixes.yaml) ranked.
"""
