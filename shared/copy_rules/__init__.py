"""The copy rules: post-processing, calls to action and the screen a variant must pass.
Light to import (the request worker writes template copy with them); the screen's heavy
checker loads on first use."""
