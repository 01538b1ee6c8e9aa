"""timm loader: `timm:<name>@<weights file>`.

The number of classes comes from the checkpoint's classifier weight; the class names, input
size and normalisation from the model card beside the file when there is one.
"""

from pathlib import Path

import timm
import torch

from hubscout.errors import SourceError, UnknownArchitectureError, WeightsMismatchError
from hubscout.models.base import ImageClassifier, Preprocessing
from hubscout.models.cards import read_card
from hubscout.models.checkpoints import content_hash, load_weights, read_state_dict


def load(rest: str, device: torch.device) -> ImageClassifier:
    """Build the timm model sized to the checkpoint and load its weights."""
    source = f"timm:{rest}"
    name, separator, checkpoint = rest.partition("@")
    if not separator or not checkpoint:
        raise SourceError(
            f"{source!r} names no weights file: write timm:<name>@<weights file> "
            "(pretrained timm weights need the network; download them first)"
        )
    if not timm.is_model(name):
        raise UnknownArchitectureError(
            f"unknown timm architecture {name!r} in {source!r}: see timm.list_models()"
        )
    path = Path(checkpoint).expanduser()
    state_dict = read_state_dict(path)
    card = read_card(path)
    probe = timm.create_model(name, pretrained=False)
    head_key = f"{probe.pretrained_cfg['classifier']}.weight"
    if head_key not in state_dict:
        raise WeightsMismatchError(
            f"the weights of {source} have no classifier {head_key!r}: check that the URI "
            "names the architecture the checkpoint was trained with"
        )
    num_classes = state_dict[head_key].shape[0]
    module = timm.create_model(name, pretrained=False, num_classes=num_classes)
    load_weights(module, state_dict, source)
    classes = card.source_classes if card and card.source_classes else None
    classes = classes or [f"class {i}" for i in range(num_classes)]
    if len(classes) != num_classes:
        raise WeightsMismatchError(
            f"the card of {source} lists {len(classes)} classes but the weights have "
            f"{num_classes}: fix source_classes in the card"
        )
    data_cfg = timm.data.resolve_data_config({}, model=module)
    preprocessing = Preprocessing(
        image_size=(card.image_size if card and card.image_size else data_cfg["input_size"][-1]),
        mean=tuple(card.mean if card and card.mean else data_cfg["mean"]),
        std=tuple(card.std if card and card.std else data_cfg["std"]),
    )
    return ImageClassifier(
        source=source,
        content_hash=content_hash({"timm": name, "classes": classes}, state_dict),
        device=device,
        module=module,
        source_classes=classes,
        preprocessing=preprocessing,
    )
