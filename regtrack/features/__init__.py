"""Features: a feature maps an image patch to a ``C x H x W`` map at a known cell size.
Handcrafted features (grey, fHOG, colour names) and deep backbones share one interface."""
