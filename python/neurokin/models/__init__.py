"""Built-in models of the brain's transmitter network.

Each module is a :class:`neurokin.Model` of its own, with the reference's
bare ids (``eht``, ``Vmax_SERT``...); time is in hours everywhere::

    import neurokin as nk
    m = nk.models.serotonin(ssri=0.8)
    net = nk.models.transmitter_network(estradiol=150, stress=0.5)

* :func:`dopamine` - Best, Nijhout & Reed 2009 + labelled extensions
  (MAO/COMT split, COMT Val158Met, L-DOPA entry)
* :func:`serotonin` - Best et al. 2020 (autoreceptor/G-protein states, SSRI)
* :func:`gaba_glutamate` - compact glutamate/GABA-glutamine cycle
  (phenomenological calibration to 13C-MRS fluxes)
* :func:`hpa_axis` - Gupta et al. 2007 (bistable GR switch), in hours
* :func:`transmitter_network` - all four, ids prefixed ``da.``, ``ht.``,
  ``gg.``, ``hpa.``, with the hormone, drug and CNS->HPA couplings
* :func:`outputs` - read-outs (receptor occupancies, hormone gains, units)
* :func:`rename`, :func:`prefixed`, :func:`substitute`, :func:`compose` - the
  model algebra the network is built with

Parameters, units, meanings, sources and provenance status come from the
tables in ``neurokin/models/data`` (:func:`table`); ``Model.describe()``
shows them.
"""
from ._tables import table
from .dopamine import dopamine
from .gaba_glutamate import gaba_glutamate
from .hpa_axis import hpa_axis
from .network import compose, prefixed, rename, substitute, transmitter_network
from .outputs import output_expressions, outputs
from .serotonin import serotonin

__all__ = ["dopamine", "serotonin", "gaba_glutamate", "hpa_axis", "transmitter_network",
           "outputs", "output_expressions", "rename", "prefixed", "substitute", "compose",
           "table"]
