"""Read a BioNetGen network file (.net) into a neurokin mass-action Model.

The .net blocks used: ``parameters`` (``index name value-or-expression``),
``species`` (``index pattern initial``), ``reactions`` (``index reactants
products rate``; reactant/product lists are comma-separated species indices,
``0`` for none).  Conventions follow BioNetGen's own SBML export (and the
converter that wrote ../shared/data/networks/*.converted.xml.gz): species
become ``S1..Sn`` (concentration = amount, one compartment of size 1);
derived parameters (``ConstantExpression``) are evaluated to numbers; the rate
of a reaction is its rate-constant field times the product of its reactants,
repeats included (``kp6c*S2*S2``).  Rate fields such as ``2*kpS`` are kept as
expressions over the parameters, so parameters stay variable.

    from _bngl import read_net
    model = read_net("../shared/data/networks/BCR_no_obs.net")
"""
from __future__ import annotations

import ast
import math
import operator
import re
from pathlib import Path

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.Pow: operator.pow}
_FUN = {"exp": math.exp, "log": math.log, "ln": math.log, "sqrt": math.sqrt,
        "log10": math.log10, "abs": abs}


def _eval(text: str, env: dict) -> float:
    """Value of an arithmetic expression over names in ``env`` (no eval)."""
    text = text.replace("^", "**")

    def ev(n):
        if isinstance(n, ast.Expression):
            return ev(n.body)
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)):
            return float(n.value)
        if isinstance(n, ast.Name):
            if n.id in env:
                return env[n.id]
            raise KeyError(f"unknown name {n.id!r} in {text!r}")
        if isinstance(n, ast.BinOp) and type(n.op) in _BIN:
            return _BIN[type(n.op)](ev(n.left), ev(n.right))
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            v = ev(n.operand)
            return -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _FUN:
            return float(_FUN[n.func.id](*[ev(a) for a in n.args]))
        raise ValueError(f"unsupported expression {text!r}")
    return float(ev(ast.parse(text, mode="eval")))


def _blocks(text: str) -> dict:
    out, cur = {}, None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^begin\s+(\w+)", line)
        if m:
            cur = m.group(1)
            out[cur] = []
            continue
        if re.match(r"^end\s+\w+", line):
            cur = None
            continue
        if cur is not None:
            out[cur].append(line.split())
    return out


class Network:
    """The parsed network: parameters (numbers), initial values, reactions."""

    def __init__(self, path):
        self.path = Path(path)
        self.name = self.path.name.split(".")[0]
        b = _blocks(self.path.read_text())
        self.parameters: dict = {}
        for row in b.get("parameters", []):
            self.parameters[row[1]] = _eval(" ".join(row[2:]), self.parameters)
        self.species = []
        self.initial = {}
        for row in b.get("species", []):
            sid = f"S{int(row[0])}"
            self.species.append(sid)
            self.initial[sid] = _eval(" ".join(row[2:]), self.parameters)
        self.reactions = []          # (id, {species: coeff}, rate expression)
        for row in b.get("reactions", []):
            idx, reac, prod, rate = row[0], row[1], row[2], " ".join(row[3:])
            rs = [f"S{int(i)}" for i in reac.split(",") if i != "0"]
            ps = [f"S{int(i)}" for i in prod.split(",") if i != "0"]
            stoich: dict = {}
            for s in rs:
                stoich[s] = stoich.get(s, 0) - 1
            for s in ps:
                stoich[s] = stoich.get(s, 0) + 1
            stoich = {s: c for s, c in stoich.items() if c != 0}
            _eval(rate, self.parameters)             # checks the names
            k = rate if re.fullmatch(r"[A-Za-z_]\w*", rate) else f"({rate})"
            self.reactions.append((f"R{int(idx)}", stoich, "*".join([k] + rs)))

    def model(self):
        import neurokin as nk
        b = nk.ModelBuilder(self.name)
        for s in self.species:
            b.species(s, self.initial[s])
        for p, v in self.parameters.items():
            b.parameter(p, v)
        for rid, stoich, rate in self.reactions:
            b.reaction(rid, stoich, rate)
        return b.build()

    def rhs_odes(self) -> dict:
        """d S/dt as expression strings (for SBML rate-rule export to peers)."""
        terms = {s: [] for s in self.species}
        for _, stoich, rate in self.reactions:
            for s, c in stoich.items():
                terms[s].append(f"{'+' if c > 0 else '-'}{abs(c) if abs(c) != 1 else ''}"
                                f"{'*' if abs(c) != 1 else ''}{rate}")
        return {s: ("".join(t).lstrip("+") or "0") for s, t in terms.items()}


def read_net(path):
    """A neurokin Model of a BioNetGen .net file."""
    return Network(path).model()
