"""What to try: one define-by-run space per task, with the task's reference configurations.

A space module has space(trial, lr_range, max_lr_ratio, ..., models) (it only suggests and
returns constants), WARM_START (the reference configurations, run first), NETS (its nets by
family), FAMILY (the parameter that picks the family, where there is more than one),
net_of(point), LR_RANGE and MAX_LR_RATIO (the task's default LR bounds). Its task (tasks/)
names it.
"""
