"""Diagnose: from findings and epoch curves to causes and a ranked list of fixes.

trajectory (numpy fits per fold) -> signals -> causes (likelihood ratios on a
prior, from configs/causes.yaml) -> fixes (configs/fixes.yaml) ranked.
"""
