"""The overoptimization lab: what best-of-n against a proxy reward model does to the true
(gold) reward, and which rewards resist it.

==============  ============================================================================
module          job
==============  ============================================================================
estimator       the exact best-of-n expectation over all size-n subsets, the tie rule
curves          d = √KL_bon, the fit d(α − βd) (Gao et al. 2022), peaks, bootstrap
tricks          a probe trick's share among best-of-n winners vs among candidates
lab             every measurement of every selector, from numbers alone
summary         the findings in plain words, from the computed numbers
plot, report    the figure, ``report.html`` and the demo's section
run, config     ``rewardkit overopt``
merge           ``rewardkit merge`` (WARM, Ramé et al. 2024)
==============  ============================================================================

Conservative ensemble rewards (mean, worst case, uncertainty-weighted) live in
:mod:`rewardkit.model.aggregate`, shared with ``serve``, ``bon`` and ``label-pairs``.
"""
