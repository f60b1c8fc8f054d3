"""Check the committed torch_* fixtures mean what make_fixtures.py's docstring says.

The Go tests trust these files, so this re-derives their contents a second way: the loss by hand from
log-softmax, and the three SGD steps with a hand-written momentum update (the rule the Go engine must
implement), instead of torch.optim.SGD. Needs torch and the MNIST files.
Run: cd engine/pytorch && /usr/bin/python3 -m unittest -v test_fixtures
"""

import unittest
from pathlib import Path

import numpy as np
import torch

import make_fixtures
import mnist
import models
import safetensors_io

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"


def hand_loss(logits, target):
    """Mean cross-entropy written out: -log softmax(logits)[target], averaged over the batch."""
    return -torch.log_softmax(logits, dim=1).gather(1, target[:, None]).mean()


class FixtureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.images, cls.labels = mnist.load_raw("test")

    def check_model(self, name):
        tensors, meta = safetensors_io.load(TESTDATA / f"torch_{name}.safetensors")
        t = {k: torch.from_numpy(v) for k, v in tensors.items()}
        self.assertEqual(meta["model"], name)
        self.assertEqual(float(meta["lr"]), models.LR)
        self.assertEqual(float(meta["momentum"]), models.MOMENTUM)

        want_x = mnist.normalise(self.images[:5])
        np.testing.assert_array_equal(tensors["input"], want_x)
        np.testing.assert_array_equal(tensors["target"], self.labels[:5].astype(np.int64))
        x, y = t["input"], t["target"]

        model = models.build(name)
        names = [k for k, _ in model.named_parameters()]
        self.assertEqual(sorted(k[len("param.") :] for k in t if k.startswith("param.")), sorted(names))
        model.load_state_dict({k: t[f"param.{k}"] for k in names})
        params = dict(model.named_parameters())

        logits = model(x)
        loss = hand_loss(logits, y)
        torch.testing.assert_close(logits.detach(), t["logits"], rtol=1e-5, atol=1e-6)
        self.assertEqual(t["loss"].shape, ())
        self.assertAlmostEqual(loss.item(), t["loss"].item(), places=5)
        loss.backward()
        for k in names:
            torch.testing.assert_close(params[k].grad, t[f"grad.{k}"], rtol=1e-4, atol=1e-6, msg=f"grad.{k}")

        # Three steps of PyTorch's momentum rule: buf = g on the first step, then buf = m*buf + g;
        # p -= lr * buf.
        with torch.no_grad():
            for k in names:
                params[k].copy_(t[f"param.{k}"])
        bufs, losses = {}, []
        for step in range(make_fixtures.STEPS):
            for p in params.values():
                p.grad = None
            step_loss = hand_loss(model(x), y)
            step_loss.backward()
            losses.append(step_loss.item())
            with torch.no_grad():
                for k, p in params.items():
                    bufs[k] = p.grad.clone() if step == 0 else models.MOMENTUM * bufs[k] + p.grad
                    p -= models.LR * bufs[k]
        np.testing.assert_allclose(losses, tensors["losses3"], rtol=1e-5)
        self.assertLess(losses[-1], losses[0], "three steps on one batch should lower its loss")
        for k in names:
            torch.testing.assert_close(params[k].detach(), t[f"after3.{k}"], rtol=1e-4, atol=1e-6, msg=k)
            torch.testing.assert_close(bufs[k], t[f"momentum.{k}"], rtol=1e-4, atol=1e-6, msg=k)

    def check_state_dict(self, name):
        state, meta = safetensors_io.load(TESTDATA / f"torch_{name}_state_dict.safetensors")
        check, _ = safetensors_io.load(TESTDATA / f"torch_{name}_state_dict_logits.safetensors")
        parity, _ = safetensors_io.load(TESTDATA / f"torch_{name}.safetensors")
        model = models.build(name).eval()
        self.assertEqual(list(state), sorted(model.state_dict()), "bare PyTorch names, sorted")
        self.assertEqual(meta, {"format": "pt"})
        model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        with torch.no_grad():
            logits = model(torch.from_numpy(check["input"]))
        torch.testing.assert_close(logits, torch.from_numpy(check["logits"]), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(check["input"], mnist.normalise(self.images[5:10]))
        some = next(iter(state))
        self.assertFalse(np.array_equal(state[some], parity[f"param.{some}"]), "must not reuse the parity seed")

    def test_models(self):
        for name in models.MODELS:
            with self.subTest(name):
                self.check_model(name)
                self.check_state_dict(name)


if __name__ == "__main__":
    unittest.main()
