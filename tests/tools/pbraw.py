#!/usr/bin/env python3
"""pbraw: the test oracle for hlo2mp, built on `protoc --decode_raw`.

decode_raw knows nothing of the schema; it prints every field as
`N: VALUE` or `N { ... }`.  This tool parses that text back into a tree and
reads the tuning schema (TPUGRAPHS.md) and XLA's HloModuleProto out of it,
independently of the C decoder it checks.  Two things decode_raw leaves
ambiguous are handled here:

- a length-delimited field whose bytes happen to parse as a message (an
  instruction name like "Arg_0.170") is printed as `N { ... }`; as_bytes()
  re-encodes such a subtree to get the original bytes back;
- a packed repeated scalar is printed as a quoted byte string; varints()
  unpacks it (and also accepts the unpacked form, one `N: v` per element).

Usage: pbraw.py FILE.pb   prints one JSON object per module on stdout:
  name, n_nodes, n_edges, opcodes, shapes [[element_type, [dims]]...],
  roots, runs [{index, runtime, error, default}], kept_runtimes,
  default_index, n_error, config_node_ids, kind (layout|tile), layout or
  tile config rows of the kept runs.
"""
import json
import re
import subprocess
import sys

# ---- decode_raw text -> tree -------------------------------------------------
# A node is (field, kind, value): kind 'v' varint (int), 'f64'/'f32' fixed (int),
# 's' bytes, 'm' list of nodes.

_ESC = {'n': 10, 't': 9, 'r': 13, '"': 34, "'": 39, '\\': 92, 'a': 7,
        'b': 8, 'f': 12, 'v': 11, '?': 63}


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != '\\':
            out += c.encode('latin-1') if ord(c) < 256 else c.encode('utf-8')
            i += 1
            continue
        n = s[i + 1]
        if n in '01234567':
            j = i + 1
            while j < len(s) and j < i + 4 and s[j] in '01234567':
                j += 1
            out.append(int(s[i + 1:j], 8) & 0xff)
            i = j
        elif n == 'x':
            j = i + 2
            while j < len(s) and j < i + 4 and s[j] in '0123456789abcdefABCDEF':
                j += 1
            out.append(int(s[i + 2:j], 16))
            i = j
        else:
            out.append(_ESC[n])
            i += 2
    return bytes(out)


_LINE = re.compile(r'^\s*(\d+)(?:: (.*)| \{)$')


def parse_text(text):
    root = []
    stack = [root]
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.strip() == '}':
            stack.pop()
            continue
        m = _LINE.match(line)
        if not m:
            raise ValueError('cannot parse decode_raw line: %r' % line)
        field = int(m.group(1))
        val = m.group(2)
        if val is None:
            sub = []
            stack[-1].append((field, 'm', sub))
            stack.append(sub)
        elif val.startswith('"'):
            stack[-1].append((field, 's', unescape(val[1:-1])))
        elif val.startswith('0x'):
            kind = 'f64' if len(val) == 18 else 'f32'
            stack[-1].append((field, kind, int(val, 16)))
        else:
            stack[-1].append((field, 'v', int(val)))
    if len(stack) != 1:
        raise ValueError('unbalanced braces in decode_raw output')
    return root


def decode_raw(path):
    with open(path, 'rb') as f:
        r = subprocess.run(['protoc', '--decode_raw'], stdin=f,
                           capture_output=True, check=True)
    return parse_text(r.stdout.decode('utf-8', 'surrogateescape'))


# ---- re-encoding (to recover bytes printed as a message) ---------------------

def _varint(v):
    out = bytearray()
    v &= (1 << 64) - 1
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode(msg):
    out = bytearray()
    for field, kind, val in msg:
        if kind == 'v':
            out += _varint(field << 3) + _varint(val)
        elif kind == 'f64':
            out += _varint(field << 3 | 1) + val.to_bytes(8, 'little')
        elif kind == 'f32':
            out += _varint(field << 3 | 5) + val.to_bytes(4, 'little')
        elif kind == 'm' and not val:
            # decode_raw prints an empty length-delimited field as "", so an
            # empty { } can only have been a group (wire types 3 and 4).
            out += _varint(field << 3 | 3) + _varint(field << 3 | 4)
        else:
            b = val if kind == 's' else encode(val)
            out += _varint(field << 3 | 2) + _varint(len(b)) + b
    return bytes(out)


# ---- typed access ------------------------------------------------------------

def get(msg, field):
    return [n for n in msg if n[0] == field]


def as_bytes(node):
    _, kind, val = node
    if kind == 's':
        return val
    if kind == 'm':
        return encode(val)
    raise ValueError('field %d is not length-delimited' % node[0])


def as_str(node):
    return as_bytes(node).decode('utf-8', 'replace')


def as_msg(node):
    _, kind, val = node
    if kind == 'm':
        return val
    if kind == 's' and val == b'':
        return []
    raise ValueError('field %d is not a message' % node[0])


def s64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def varints(msg, field, signed=True):
    """All values of a repeated varint field, packed or not."""
    out = []
    for node in get(msg, field):
        if node[1] == 'v':
            out.append(node[2])
        else:
            b = as_bytes(node)
            i = 0
            while i < len(b):
                v = shift = 0
                while True:
                    c = b[i]
                    i += 1
                    v |= (c & 0x7f) << shift
                    shift += 7
                    if not c & 0x80:
                        break
                out.append(v)
    return [s64(v) for v in out] if signed else out


def scalar(msg, field, default=0, signed=True):
    vals = varints(msg, field, signed)
    return vals[-1] if vals else default


def one(msg, field):
    nodes = get(msg, field)
    return as_msg(nodes[-1]) if nodes else []


def string(msg, field):
    nodes = get(msg, field)
    return as_str(nodes[-1]) if nodes else ''


# ---- the schema --------------------------------------------------------------

def is_module_tuning(top):
    """ModuleTuningData has fields 2..4 or a field-1 message that is an
    HloModuleProto (whose field 2 is a string); TuningData only field 1."""
    if any(f != 1 for f, _, _ in top):
        return True
    first = as_msg(get(top, 1)[0])
    return not any(f == 2 and k == 'v' for f, k, _ in first)


def modules(top):
    if is_module_tuning(top):
        return [top]
    return [as_msg(n) for n in get(top, 1)]


def fixed_seq(vals, k, empty_product=1):
    first = [float(v) for v in vals[:k]] + [0.0] * max(0, k - len(vals))
    prod = 1
    for v in vals:
        prod *= v
    if not vals:
        prod = empty_product
    return first + [float(sum(vals)), float(prod)]


def module_summary(mtd):
    mod = one(mtd, 1)
    comps = [as_msg(n) for n in get(mod, 3)]
    pos = {}
    opcodes, shapes, roots, names = [], [], [], []
    insts = []
    for c in comps:
        root = scalar(c, 6)
        for n in get(c, 2):
            inst = as_msg(n)
            iid = scalar(inst, 35)
            pos[iid] = len(insts)
            insts.append(inst)
            names.append(string(inst, 1))
            opcodes.append(string(inst, 2))
            shp = one(inst, 3)
            shapes.append([scalar(shp, 2), varints(shp, 3)])
            roots.append(1 if iid == root else 0)
    comp_root = {scalar(c, 5): scalar(c, 6) for c in comps}
    edges = set()
    for i, inst in enumerate(insts):
        for op in set(varints(inst, 36)):
            edges.add((i, pos[op]))
        for cid in varints(inst, 38):
            edges.add((i, pos[comp_root[cid]]))
    runs = []
    kept, kept_rows, default_index, n_error = [], [], -1, 0
    kind = None
    for i, n in enumerate(get(mtd, 3)):
        run = as_msg(n)
        err = scalar(run, 3, signed=False) != 0
        prof = one(run, 4)
        rt = scalar(prof, 4)
        dflt = scalar(run, 5, signed=False) != 0
        runs.append({'index': i, 'runtime': rt, 'error': err, 'default': dflt})
        if get(run, 1):
            kind = 'tile'
            tsc = one(one(run, 1), 1)
            row = []
            for f in (1, 2, 3):
                row += fixed_seq(varints(tsc, f), 6, empty_product=0)
        elif get(run, 2):
            kind = 'layout'
            row = []
            for node in get(one(one(run, 2), 1), 1):
                r = [-1] * 18
                for t, tensor in enumerate(get(as_msg(node), 1)):
                    dims = varints(as_msg(tensor), 1)
                    for d, v in enumerate(dims[:6]):
                        r[t * 6 + d] = v
                row.append(r)
        else:
            row = None
        if err:
            n_error += 1
            continue
        if dflt and default_index < 0:
            default_index = len(kept)
        kept.append(rt)
        kept_rows.append(row)
    cfg_ids = varints(mtd, 4)
    return {
        'name': string(mod, 1),
        'fingerprint': scalar(mtd, 2, signed=False),
        'n_nodes': len(insts),
        'n_edges': len(edges),
        'edges': sorted(edges),
        'opcodes': opcodes,
        'names': names,
        'shapes': shapes,
        'roots': roots,
        'comp_starts': _starts(comps),
        'runs': runs,
        'kept_runtimes': kept,
        'default_index': default_index,
        'n_error': n_error,
        'config_node_ids': [pos[c] for c in cfg_ids],
        'kind': kind,
        'config_rows': kept_rows,
    }


def _starts(comps):
    out, n = [], 0
    for c in comps:
        out.append(n)
        n += len(get(c, 2))
    return out


def main(argv):
    if len(argv) != 2:
        print('usage: pbraw.py FILE.pb', file=sys.stderr)
        return 2
    top = decode_raw(argv[1])
    for mtd in modules(top):
        print(json.dumps(module_summary(mtd)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
