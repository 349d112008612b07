"""neurokin Model -> SBML Level 3 Version 2.

* A reaction model (``Model.from_reactions`` / ``ModelBuilder``) is written as
  SBML species (concentrations, ``hasOnlySubstanceUnits=false``), compartments,
  parameters and reactions.  neurokin's rate laws are extents per time, as
  SBML kinetic laws are, so they are written unchanged; constant species become
  ``boundaryCondition=true, constant=true``.
* An ODE model (``Model.from_odes``, and every model ``load_sbml`` returns)
  is written as parameters (``constant=false``) with rate rules: the ODEs are
  reproduced exactly, whatever their origin.
* Observables become parameters with assignment rules; events become SBML
  events (trigger with initialValue/persistent, delay, priority,
  useValuesFromTriggerTime, event assignments).

neurokin names may hold dots (``ht.eht``, ``S1.amount``) that SBML ids cannot:
each dot becomes a double underscore (made unique if needed); the original
name is kept in the element's ``name`` attribute.  Math is built as libsbml
ASTs straight from the expression nodes.
"""
from __future__ import annotations

import math
import re

from .. import expr as E
from ..errors import ModelError
from ..expr.ops import Leaf, Op

__all__ = ["to_sbml"]

_BOOL_OPS = {Op.LT, Op.LE, Op.GT, Op.GE, Op.EQ, Op.NE, Op.AND, Op.OR, Op.NOT, Op.XOR}


def _ids(names):
    out, taken = {}, set()
    for n in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", n.replace(".", "__"))
        if not re.match(r"[A-Za-z_]", base):
            base = "_" + base
        cand, k = base, 1
        while cand in taken:
            k += 1
            cand = f"{base}_{k}"
        taken.add(cand)
        out[n] = cand
    return out


class _AstBuilder:
    def __init__(self, ids):
        import libsbml
        self.L = libsbml
        self.ids = ids

    def node(self, ty, *kids):
        a = self.L.ASTNode(ty)
        for k in kids:
            a.addChild(k)
        return a

    def real(self, v):
        a = self.L.ASTNode(self.L.AST_REAL)
        a.setValue(float(v))
        return a

    def build(self, root, boolean=False):
        """AST of ``root``; ``boolean``: the context needs a boolean."""
        L = self.L
        cache = {}   # (node, boolean?) -> AST; both forms built on demand

        def num(n):
            key = (n, False)
            if key in cache:
                return cache[key].deepCopy()
            if n.op in _BOOL_OPS:
                a = self.node(L.AST_FUNCTION_PIECEWISE, self.real(1.0), boo(n), self.real(0.0))
            else:
                a = self._num(n, num, boo)
            cache[key] = a
            return a.deepCopy()

        def boo(n):
            key = (n, True)
            if key in cache:
                return cache[key].deepCopy()
            if n.op in _BOOL_OPS:
                a = self._bool(n, num, boo)
            elif n.op is Leaf.CONST:
                a = L.ASTNode(L.AST_CONSTANT_TRUE if n.value != 0.0 else L.AST_CONSTANT_FALSE)
            else:
                a = self.node(L.AST_RELATIONAL_NEQ, num(n), self.real(0.0))
            cache[key] = a
            return a.deepCopy()

        # warm the cache bottom-up so deep trees never recurse far
        for n in E.postorder([root]):
            if n.op in _BOOL_OPS:
                boo(n)
            else:
                num(n)
        return boo(root) if boolean else num(root)

    def _bool(self, n, num, boo):
        L = self.L
        a = n.args
        cmp = {Op.LT: L.AST_RELATIONAL_LT, Op.LE: L.AST_RELATIONAL_LEQ,
               Op.GT: L.AST_RELATIONAL_GT, Op.GE: L.AST_RELATIONAL_GEQ,
               Op.EQ: L.AST_RELATIONAL_EQ, Op.NE: L.AST_RELATIONAL_NEQ}
        if n.op in cmp:
            return self.node(cmp[n.op], num(a[0]), num(a[1]))
        logic = {Op.AND: L.AST_LOGICAL_AND, Op.OR: L.AST_LOGICAL_OR,
                 Op.XOR: L.AST_LOGICAL_XOR}
        if n.op in logic:
            return self.node(logic[n.op], boo(a[0]), boo(a[1]))
        return self.node(L.AST_LOGICAL_NOT, boo(a[0]))

    def _num(self, n, num, boo):
        L = self.L
        op = n.op
        if op is Leaf.CONST:
            return self.real(n.value)
        if op is Leaf.SYM:
            a = L.ASTNode(L.AST_NAME)
            a.setName(self.ids.get(n.name, n.name))
            return a
        if op is Leaf.TIME:
            a = L.ASTNode(L.AST_NAME_TIME)
            a.setName("time")
            return a
        a = n.args
        binary = {Op.ADD: L.AST_PLUS, Op.SUB: L.AST_MINUS, Op.MUL: L.AST_TIMES,
                  Op.DIV: L.AST_DIVIDE, Op.POW: L.AST_POWER, Op.POWI: L.AST_POWER,
                  Op.MIN: L.AST_FUNCTION_MIN, Op.MAX: L.AST_FUNCTION_MAX}
        if op in binary:
            return self.node(binary[op], num(a[0]), num(a[1]))
        unary = {Op.EXP: L.AST_FUNCTION_EXP, Op.LOG: L.AST_FUNCTION_LN,
                 Op.LOG10: L.AST_FUNCTION_LOG, Op.SQRT: L.AST_FUNCTION_ROOT,
                 Op.SIN: L.AST_FUNCTION_SIN, Op.COS: L.AST_FUNCTION_COS,
                 Op.TAN: L.AST_FUNCTION_TAN, Op.ASIN: L.AST_FUNCTION_ARCSIN,
                 Op.ACOS: L.AST_FUNCTION_ARCCOS, Op.ATAN: L.AST_FUNCTION_ARCTAN,
                 Op.SINH: L.AST_FUNCTION_SINH, Op.COSH: L.AST_FUNCTION_COSH,
                 Op.TANH: L.AST_FUNCTION_TANH, Op.ABS: L.AST_FUNCTION_ABS,
                 Op.FLOOR: L.AST_FUNCTION_FLOOR, Op.CEIL: L.AST_FUNCTION_CEILING,
                 Op.NEG: L.AST_MINUS}
        if op in unary:
            return self.node(unary[op], num(a[0]))
        if op is Op.SQUARE:
            return self.node(L.AST_POWER, num(a[0]), self.real(2.0))
        if op is Op.COPY:
            return num(a[0])
        if op is Op.SELECT:
            return self.node(L.AST_FUNCTION_PIECEWISE, num(a[1]), boo(a[0]), num(a[2]))
        if op is Op.SIGN:
            x = a[0]
            return self.node(L.AST_FUNCTION_PIECEWISE, self.real(1.0),
                             self.node(L.AST_RELATIONAL_GT, num(x), self.real(0.0)),
                             self.real(-1.0),
                             self.node(L.AST_RELATIONAL_LT, num(x), self.real(0.0)),
                             self.real(0.0))
        if op is Op.ATAN2:
            # atan2(y, x) = 2 atan(y / (sqrt(x^2 + y^2) + x)), x > 0 or y != 0
            y, x = a
            r = E.add(E.call("sqrt", E.add(E.mul(x, x), E.mul(y, y))), x)
            main = E.mul(E.const(2.0), E.call("atan", E.div(y, r)))
            alt = E.select(E.ge(y, E.ZERO), E.const(math.pi), E.const(-math.pi))
            full = E.select(E.and_(E.le(x, E.ZERO), E.eq(y, E.ZERO)),
                            E.select(E.lt(x, E.ZERO), alt, E.ZERO), main)
            return self.build(full)
        raise ModelError(f"cannot write {op!r} as MathML")


def to_sbml(model, *, level: int = 3, version: int = 2) -> str:
    """The model as an SBML Level 3 Version 2 document (a string)."""
    import libsbml

    if (level, version) != (3, 2):
        raise ModelError("neurokin writes SBML Level 3 Version 2 only")
    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    mid = re.sub(r"\W", "_", model.name or "model")
    if not re.match(r"[A-Za-z_]", mid):
        mid = "m_" + mid
    m.setId(mid)
    m.setName(model.name)

    def ok(code, what):
        if code != libsbml.LIBSBML_OPERATION_SUCCESS:
            raise ModelError(f"libsbml: {what} failed "
                             f"({libsbml.OperationReturnValue_toString(code)})")

    names = ([c.id for c in model.compartments] + [s.id for s in model.species]
             + [p.id for p in model.parameters_] + [r.id for r in model.reactions]
             + [o for o, _ in model.observables])
    ids = _ids(names)
    ast = _AstBuilder(ids)

    def math_of(text, boolean=False):
        return ast.build(model.node(text), boolean=boolean)

    def set_name(el, n):
        if ids[n] != n:
            el.setName(n)

    for c in model.compartments:
        comp = m.createCompartment()
        ok(comp.setId(ids[c.id]), f"compartment {c.id}")
        set_name(comp, c.id)
        comp.setSize(float(c.size))
        comp.setConstant(True)
        comp.setSpatialDimensions(3)
    if model.odes:
        for s in model.species:
            p = m.createParameter()
            ok(p.setId(ids[s.id]), f"state {s.id}")
            set_name(p, s.id)
            p.setValue(float(s.initial))
            p.setConstant(False)
        for sid, text in model.odes:
            rule = m.createRateRule()
            rule.setVariable(ids[sid])
            ok(rule.setMath(math_of(text)), f"rate rule of {sid}")
    else:
        for s in model.species:
            sp = m.createSpecies()
            ok(sp.setId(ids[s.id]), f"species {s.id}")
            set_name(sp, s.id)
            sp.setCompartment(ids.get(s.compartment, s.compartment))
            sp.setInitialConcentration(float(s.initial))
            sp.setHasOnlySubstanceUnits(False)
            sp.setBoundaryCondition(bool(s.constant))
            sp.setConstant(bool(s.constant))
    for p in model.parameters_:
        par = m.createParameter()
        ok(par.setId(ids[p.id]), f"parameter {p.id}")
        set_name(par, p.id)
        par.setValue(float(p.value))
        par.setConstant(not any(tgt == p.id for ev in model.events
                                for tgt, _ in ev.assignments))
    for r in model.reactions:
        rx = m.createReaction()
        ok(rx.setId(ids[r.id]), f"reaction {r.id}")
        set_name(rx, r.id)
        rx.setReversible(True)
        for s, n in r.stoichiometry:
            n = float(n)
            if n == 0:
                continue
            ref = rx.createReactant() if n < 0 else rx.createProduct()
            ref.setSpecies(ids[s])
            ref.setStoichiometry(abs(n))
            ref.setConstant(True)
        listed = {s for s, n in r.stoichiometry if float(n) != 0}
        species_ids = {s.id for s in model.species}
        for s in sorted(model.node(r.rate).free_symbols & species_ids - listed):
            mod = rx.createModifier()
            mod.setSpecies(ids[s])
        kl = rx.createKineticLaw()
        ok(kl.setMath(math_of(r.rate)), f"kinetic law of {r.id}")
    for oid, text in model.observables:
        par = m.createParameter()
        ok(par.setId(ids[oid]), f"observable {oid}")
        set_name(par, oid)
        par.setConstant(False)
        rule = m.createAssignmentRule()
        rule.setVariable(ids[oid])
        ok(rule.setMath(math_of(text)), f"assignment rule of {oid}")
    if not model.odes:
        # species changed by events must not be constant
        targets = {tgt for ev in model.events for tgt, _ in ev.assignments}
        for s in model.species:
            if s.id in targets and s.constant:
                sp = m.getSpecies(ids[s.id])
                sp.setConstant(False)
    for ev in model.events:
        e = m.createEvent()
        ok(e.setId(_ids([ev.id])[ev.id]) if ev.id not in ids else e.setId(ev.id + "_event"),
           f"event {ev.id}")
        e.setUseValuesFromTriggerTime(bool(ev.use_values_from_trigger_time))
        trig = e.createTrigger()
        trig.setInitialValue(bool(ev.initial_value))
        trig.setPersistent(bool(ev.persistent))
        ok(trig.setMath(math_of(ev.trigger, boolean=True)), f"trigger of {ev.id}")
        if ev.delay is not None:
            d = e.createDelay()
            ok(d.setMath(math_of(ev.delay)), f"delay of {ev.id}")
        if ev.priority is not None:
            pr = e.createPriority()
            ok(pr.setMath(math_of(ev.priority)), f"priority of {ev.id}")
        for tgt, text in ev.assignments:
            ea = e.createEventAssignment()
            ea.setVariable(ids[tgt])
            ok(ea.setMath(math_of(text)), f"assignment to {tgt} in {ev.id}")
    return libsbml.writeSBMLToString(doc)
