"""A neurokin reaction Model as SBML Level 3 Version 2, for the benchmark only.

Private stand-in until ``neurokin.sbml.to_sbml`` exists (it is a placeholder
while this is written).  Minimal and exact for reaction models such as the
transmitter network:

* ids: ``.`` becomes ``__`` (``ht.eht`` -> ``ht__eht``; collisions are errors);
* compartments (constant size), species in concentration form
  (``hasOnlySubstanceUnits=false``) with their initial concentration; a
  species no reaction changes (or declared constant) is a boundary species;
* parameters, constant;
* reactions with their stoichiometry, every species the rate reads and the
  reaction does not change as a modifier, and the rate as kinetic law
  (amount per time, as in neurokin: d[S]/dt = sum n*v / V), written with
  libsbml.parseL3Formula; the time names ``t``/``time`` become the SBML time
  csymbol, ``log`` becomes ``ln``, ``**`` becomes ``^``.
"""
from __future__ import annotations


def _mangle(name: str) -> str:
    return name.replace(".", "__")


def _formula(text: str, ids: set) -> str:
    from neurokin.expr import tokenize
    toks = tokenize(text)
    out, last = [], 0
    rename_fn = {"log": "ln", "ln": "ln"}
    for i, tok in enumerate(toks):
        rep = None
        if tok.kind == "name":
            is_fn = i + 1 < len(toks) and toks[i + 1].kind == "("
            if is_fn:
                rep = rename_fn.get(tok.text)
            elif tok.text in ids:
                rep = _mangle(tok.text)
            elif tok.text in ("t", "time"):
                rep = "time"          # a plain name here; turned into the csymbol below
            elif tok.text == "e":
                rep = "exponentiale"
        elif tok.text == "**":
            rep = "^"
        if rep is None or rep == tok.text:
            continue
        out.append(text[last:tok.pos])
        out.append(rep)
        last = tok.pos + len(tok.text)
    out.append(text[last:])
    return "".join(out)


def _fix_time(ast, libsbml):
    if ast.getType() == libsbml.AST_NAME and ast.getName() == "time":
        ast.setType(libsbml.AST_NAME_TIME)
        ast.setDefinitionURL("http://www.sbml.org/sbml/symbols/time")
    for k in range(ast.getNumChildren()):
        _fix_time(ast.getChild(k), libsbml)


def to_sbml(model) -> str:
    """SBML L3V2 text of a neurokin reaction Model (see the module docstring)."""
    import libsbml
    if model.odes:
        raise ValueError("this exporter writes reaction models only")
    ids = ({s.id for s in model.species} | set(model.parameters)
           | set(model.compartment_sizes) | {r.id for r in model.reactions})
    mangled = {_mangle(i) for i in ids}
    if len(mangled) != len(ids):
        raise ValueError("ids collide after replacing '.' by '__'")
    if "time" in mangled:
        raise ValueError("an id named 'time' cannot be exported by this exporter")

    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId(_mangle(model.name) or "model")

    def ok(code, what):
        if code != libsbml.LIBSBML_OPERATION_SUCCESS:
            raise RuntimeError(f"libsbml: {what}: "
                               f"{libsbml.OperationReturnValue_toString(code)}")

    for c in model.compartments:
        comp = m.createCompartment()
        ok(comp.setId(_mangle(c.id)), c.id)
        ok(comp.setSize(float(c.size)), c.id)
        ok(comp.setConstant(True), c.id)
        ok(comp.setSpatialDimensions(3), c.id)
    changed = {s for r in model.reactions for s, n in r.stoichiometry if float(n) != 0}
    for s in model.species:
        sp = m.createSpecies()
        ok(sp.setId(_mangle(s.id)), s.id)
        ok(sp.setCompartment(_mangle(s.compartment)), s.id)
        ok(sp.setInitialConcentration(float(s.initial)), s.id)
        ok(sp.setHasOnlySubstanceUnits(False), s.id)
        ok(sp.setBoundaryCondition(bool(s.constant or s.id not in changed)), s.id)
        ok(sp.setConstant(bool(s.constant)), s.id)
    for pid, v in model.parameters.items():
        p = m.createParameter()
        ok(p.setId(_mangle(pid)), pid)
        ok(p.setValue(float(v)), pid)
        ok(p.setConstant(True), pid)
    species_ids = {s.id for s in model.species}
    for r in model.reactions:
        rx = m.createReaction()
        ok(rx.setId(_mangle(r.id)), r.id)
        ok(rx.setReversible(False), r.id)
        touched = set()
        for s, n in r.stoichiometry:
            n = float(n)
            if n == 0:
                continue
            ref = rx.createReactant() if n < 0 else rx.createProduct()
            ok(ref.setSpecies(_mangle(s)), r.id)
            ok(ref.setStoichiometry(abs(n)), r.id)
            ok(ref.setConstant(True), r.id)
            touched.add(s)
        node = model.node(r.rate)
        for s in sorted(node.free_symbols & species_ids - touched):
            mod = rx.createModifier()
            ok(mod.setSpecies(_mangle(s)), r.id)
        kl = rx.createKineticLaw()
        text = _formula(r.rate, ids)
        ast = libsbml.parseL3Formula(text)
        if ast is None:
            raise ValueError(f"reaction {r.id}: cannot parse {text!r}: "
                             f"{libsbml.getLastParseL3Error()}")
        _fix_time(ast, libsbml)
        ok(kl.setMath(ast), r.id)
    return libsbml.writeSBMLToString(doc)
