"""The classifier families a classify or anomaly search chooses from, by timm name.

Plain names, apart from the nets themselves: the search's driver needs them to define the space,
and importing timm (through torchvision's models) costs seconds of start-up it has no use for.
"""

FAMILIES: dict[str, tuple[str, ...]] = {
    "resnet": ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"),
    "efficientnet": tuple(f"efficientnet_b{i}" for i in range(5)),
    "mobilevit": ("mobilevit_ref", "mobilevit_xxs", "mobilevit_xs", "mobilevit_s"),
    "mobilenetv3": ("mobilenetv3_small_100", "mobilenetv3_large_100"),
    "equivariant": ("c8_resnet18", "d8_resnet18"),
}
CLASSIFIERS = tuple(name for names in FAMILIES.values() for name in names)
