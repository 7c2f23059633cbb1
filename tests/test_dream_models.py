"""Spatial classifiers: logit-map shapes, the real Lite weights, and the no-download rule for VGG."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from dreamgraph.graph.core.extras import photo
from dreamgraph.nodes.dream.models import MissingWeightsError, load_model, vgg_weights_path


def _top1(model, image: np.ndarray) -> int:
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
    with torch.no_grad():
        return int(model(x).mean(dim=(2, 3))[0].argmax())


def test_lite0_recognises_photos():
    model = load_model("lite0")
    assert _top1(model, photo("chelsea")) in (281, 282, 285)  # tabby, tiger cat, Egyptian cat
    assert _top1(model, photo("coffee")) == 967  # espresso


def test_lite0_has_no_weight_gradients_and_is_in_eval_mode():
    model = load_model("lite0")
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize(
    "name,size,expected",
    [
        ("lite0", (64, 96), (2, 3)),
        ("lite0", (288, 512), (9, 16)),
        ("vgg16", (224, 288), (1, 3)),
        ("vgg19", (256, 224), (2, 1)),
    ],
)
def test_logit_map_shape(name, size, expected):
    model = load_model(name, pretrained=name.startswith("lite"))
    with torch.no_grad():
        out = model(torch.rand(1, 3, *size) * 255)
    assert out.shape == (1, 1000, *expected)


def test_vgg_dense_head_as_convolutions_matches_the_linear_classifier():
    """At 224x224 the conv head sees exactly the 7x7 pool5 map the Linear layers saw."""
    import torchvision

    torch.manual_seed(0)
    ref = torchvision.models.vgg16(weights=None).eval()
    model = load_model("vgg16", pretrained=False)
    model.features.load_state_dict(ref.features.state_dict())
    fc = [m for m in ref.classifier if isinstance(m, torch.nn.Linear)]
    for conv, lin in zip([m for m in model.head if isinstance(m, torch.nn.Conv2d)], fc):
        conv.weight.data.copy_(lin.weight.data.view_as(conv.weight))
        conv.bias.data.copy_(lin.bias.data)
    x = torch.rand(1, 3, 224, 224) * 255
    normalised = x * model.scale + model.shift
    with torch.no_grad():
        assert torch.allclose(model(x)[0, :, 0, 0], ref(normalised)[0], atol=1e-4, rtol=1e-4)


def test_missing_vgg_weights_names_path_and_url(tmp_path):
    missing = tmp_path / "nothing.pth"
    with pytest.raises(MissingWeightsError) as err:
        load_model("vgg16", weights=str(missing))
    assert str(missing) in str(err.value)
    assert "https://download.pytorch.org/models/vgg16-397923af.pth" in str(err.value)


def test_missing_vgg_weights_in_hub_cache_fail_fast_without_network(tmp_path):
    """With an empty hub dir the default path is reported (and nothing tries to download: it returns quickly)."""
    code = (
        "import torch; torch.hub.set_dir(%r)\n"
        "from dreamgraph.nodes.dream.models import load_model\n"
        "try:\n    load_model('vgg19')\nexcept FileNotFoundError as e:\n    print(e)\n"
    ) % str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert str(tmp_path / "checkpoints" / "vgg19-dcbb9e9d.pth") in out.stdout


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model"):
        load_model("resnet9000")
    assert vgg_weights_path("vgg16").name == "vgg16-397923af.pth"
