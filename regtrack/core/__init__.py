"""The shared core every tracker stands on: boxes, patch sampling, labels and windows, the
Fourier-domain correlation filter, the DSST scale filter."""
