"""Check the committed torch_* fixtures mean what make_fixtures.py's docstring says.

The Go tests trust these files, so this re-derives their contents a second way: the loss by hand from
log-softmax, and the three SGD steps with a hand-written momentum update (the rule the Go engine must
implement), instead of torch.optim.SGD. The nn.Linear weights' factors must rebuild every step's
gradient and the final weights and momentum. Needs torch and the MNIST files.
Run: cd engine/pytorch && /usr/bin/python3 -m unittest -v test_fixtures
"""

import hashlib
import json
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

import formula
import make_fixtures
import mnist
import models
import safetensors_io

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"


def hand_loss(logits, target):
    """Mean cross-entropy written out: -log softmax(logits)[target], averaged over the batch."""
    return -torch.log_softmax(logits, dim=1).gather(1, target[:, None]).mean()


def close(test, got, want, msg, rtol=1e-4, atol=1e-6):
    torch.testing.assert_close(torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(want, dtype=torch.float64),
                               rtol=rtol, atol=atol, msg=msg)


class FixtureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.images, cls.labels = mnist.load_raw("test")

    def check_model(self, name):
        tensors, meta = safetensors_io.load(TESTDATA / f"torch_{name}.safetensors")
        sgd, sgd_meta = safetensors_io.load(TESTDATA / f"torch_{name}_sgd.safetensors")
        t = {k: torch.from_numpy(v) for k, v in tensors.items()}
        self.assertEqual(meta["model"], name)
        self.assertEqual(sgd_meta["model"], name)
        self.assertEqual(float(sgd_meta["lr"]), models.LR)
        self.assertEqual(float(sgd_meta["momentum"]), models.MOMENTUM)
        self.assertEqual(int(sgd_meta["steps"]), make_fixtures.STEPS)

        want_x = mnist.normalise(self.images[:5])
        np.testing.assert_array_equal(tensors["input"], want_x)
        np.testing.assert_array_equal(tensors["target"], self.labels[:5].astype(np.int64))
        x, y = t["input"], t["target"]

        model = models.build(name)
        shapes = [[k, list(v.shape)] for k, v in model.state_dict().items()]
        self.assertEqual(json.loads(meta["params"]), shapes, "params metadata: state_dict names, shapes, order")
        names = [k for k, _ in model.named_parameters()]
        factored = {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
        whole = [k for k in names if k not in factored]
        factor_names = lambda steps: {f"{f}{s}.{w}" for w in factored for s in steps for f in ("x", "dy")}  # noqa: E731
        self.assertEqual(set(tensors), {"input", "target", "logits", "loss"} | {f"grad.{k}" for k in whole}
                         | factor_names([1]))
        self.assertEqual(set(sgd), {"losses3"} | {f"{p}.{k}" for k in whole for p in ("after3", "momentum")}
                         | factor_names(range(1, make_fixtures.STEPS + 1)))

        initial = formula.state(formula.PARITY, shapes)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in initial.items()})
        params = dict(model.named_parameters())

        logits = model(x)
        loss = hand_loss(logits, y)
        torch.testing.assert_close(logits.detach(), t["logits"], rtol=1e-5, atol=1e-6)
        self.assertEqual(t["loss"].shape, ())
        self.assertAlmostEqual(loss.item(), t["loss"].item(), places=5)
        loss.backward()
        for k in whole:
            close(self, params[k].grad, t[f"grad.{k}"], f"grad.{k}")
        for k in factored:
            close(self, params[k].grad, make_fixtures.rebuild_grad(tensors, k, 1), f"grad.{k} from factors")

        # Three steps of PyTorch's momentum rule: buf = g on the first step, then buf = m*buf + g;
        # p -= lr * buf.
        with torch.no_grad():
            for k in names:
                params[k].copy_(torch.from_numpy(initial[k]))
        bufs, losses = {}, []
        for step in range(make_fixtures.STEPS):
            for p in params.values():
                p.grad = None
            step_loss = hand_loss(model(x), y)
            step_loss.backward()
            losses.append(step_loss.item())
            for k in factored:
                close(self, params[k].grad, make_fixtures.rebuild_grad(sgd, k, step + 1), f"step {step + 1} grad {k}")
            with torch.no_grad():
                for k, p in params.items():
                    bufs[k] = p.grad.clone() if step == 0 else models.MOMENTUM * bufs[k] + p.grad
                    p -= models.LR * bufs[k]
        np.testing.assert_allclose(losses, sgd["losses3"], rtol=1e-5)
        np.testing.assert_allclose(losses[0], tensors["loss"], rtol=1e-5)
        self.assertLess(losses[-1], losses[0], "three steps on one batch should lower its loss")
        for k in whole:
            close(self, params[k].detach(), sgd[f"after3.{k}"], f"after3.{k}")
            close(self, bufs[k], sgd[f"momentum.{k}"], f"momentum.{k}")
        for k in factored:
            after, buf = make_fixtures.rebuild_sgd(sgd, k, initial[k])
            close(self, params[k].detach(), after, f"after3.{k} from factors")
            close(self, bufs[k], buf, f"momentum.{k} from factors")

    def check_state_dict(self, name):
        check, meta = safetensors_io.load(TESTDATA / f"torch_{name}_state_dict_logits.safetensors")
        path = TESTDATA / f"torch_{name}_state_dict.safetensors"
        model = models.build(name).eval()
        if name in make_fixtures.FORMULA_STATE_DICTS:
            self.assertFalse(path.exists(), f"{path.name} is rebuilt from the formula, not committed")
            shapes = [(k, list(v.shape)) for k, v in model.state_dict().items()]
            values = formula.state(formula.STATE_DICT, shapes)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / path.name
                safetensors_io.save(path, dict(sorted(values.items())), {"format": "pt"})
                raw = path.read_bytes()
                self.assertEqual(hashlib.sha256(raw).hexdigest(), meta["state_dict_sha256"])
                self.assertEqual(len(raw), int(meta["state_dict_bytes"]))
                state, sd_meta = safetensors_io.load(path)
        else:
            state, sd_meta = safetensors_io.load(path)
        self.assertEqual(list(state), sorted(model.state_dict()), "bare PyTorch names, sorted")
        self.assertEqual(sd_meta, {"format": "pt"})
        model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        with torch.no_grad():
            logits = model(torch.from_numpy(check["input"]))
        torch.testing.assert_close(logits, torch.from_numpy(check["logits"]), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(check["input"], mnist.normalise(self.images[5:10]))
        shapes = [(k, list(v.shape)) for k, v in model.state_dict().items()]
        some = next(iter(state))
        parity = formula.state(formula.PARITY, shapes)
        self.assertFalse(np.array_equal(state[some], parity[some]), "must not reuse the parity weights")

    def check_interop_logits(self, name):
        check, meta = safetensors_io.load(TESTDATA / f"mnisttui_{name}_torch_logits.safetensors")
        parity, _ = safetensors_io.load(TESTDATA / f"torch_{name}.safetensors")
        np.testing.assert_array_equal(check["input"], parity["input"])
        self.assertEqual(check["logits"].shape, (5, 10))
        self.assertRegex(meta["source_sha256"], "^[0-9a-f]{64}$")
        self.assertEqual(meta["model_in_file"], name)

    def test_models(self):
        for name in models.MODELS:
            with self.subTest(name):
                self.check_model(name)
                self.check_state_dict(name)
                self.check_interop_logits(name)

    def test_sizes(self):
        """Every fixture stays under 1 MB, so none trips the repository's large-file check."""
        for path in sorted(TESTDATA.glob("*.safetensors")):
            self.assertLess(path.stat().st_size, 1_000_000, path.name)


if __name__ == "__main__":
    unittest.main()
