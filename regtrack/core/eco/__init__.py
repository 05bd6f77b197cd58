"""ECO: Efficient Convolution Operators (Danelljan, Bhat, Khan, Felsberg, CVPR 2017), on the
continuous convolution operators of C-COT (Danelljan, Robinson, Khan, Felsberg, ECCV 2016).

One module per step, each citing its equations:

* :mod:`.fourier` — centred Fourier coefficients of odd-sized feature maps, the cubic
  interpolation kernel that maps them to the continuous domain (C-COT eq. 3-4), the Gaussian
  label's coefficients, the sub-cell shift of a sample;
* :mod:`.cg` — preconditioned conjugate gradient on lists of arrays (ECO sec. 3.1, 4.3);
* :mod:`.projection` — the factorised convolution: the projection matrix's PCA start and the
  first frame's Gauss-Newton + CG joint problem (ECO eq. 3-4, 10-11);
* :mod:`.filter` — the filter's normal equations over the sample space (C-COT eq. 10-12, ECO
  eq. 7) and its preconditioner, solved warm-started every ``train_gap`` frames;
* :mod:`.regularization` — the spatial regularisation window and its sparse DFT (SRDCF, C-COT
  eq. 7);
* :mod:`.sample_space` — the generative sample space model (ECO sec. 3.2, eq. 8-9);
* :mod:`.detection` — the response's Fourier series and its maximum by grid search and
  Newton's method (C-COT sec. 4.3);
* :mod:`.fdsst` — the fDSST scale filter (Danelljan et al., TPAMI 2017): 17 scales, PCA-compressed,
  the response interpolated to 33;
* :mod:`.model` — the tracker loop that puts them together, with features as plug-ins
  (:class:`~regtrack.core.eco.model.FeatureBlock`).

Conventions: the continuous domain's period is ``T = 1`` (the image support of the sample);
a block's feature map has an odd size ``N x M`` whose centre cell sits at ``t = 0``; its
Fourier coefficients are *centred*: ``xf[..., N // 2, M // 2]`` is frequency ``(0, 0)`` and
index ``i`` is frequency ``i - N // 2``. Every spectrum holds all frequencies (not ECO's half
plane), so inner products are plain ``Re sum conj(a) b``. Channels are axis ``-3``.
"""
