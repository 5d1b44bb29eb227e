#!/usr/bin/env python3
"""mkhlo: write small synthetic ModuleTuningData protobufs for hlo2mp's tests.

Usage: mkhlo.py CASE > FILE.pb
The base module has one computation `entry` (id 1): parameters p0 (id 10)
and p1 (id 11), `add` (id 12, operands 10 11, the root), with two layout runs
(run 1 the default) over the configurable add.  config_index_to_node holds
node positions in file order (all computations' instructions one after the
other), as in the dataset: the add is [2].  Each CASE changes one thing:

  ok               the base module
  reordered        instructions listed add, p1, p0 (hlo2mp must put operands
                   first; config_index_to_node [0], the add's file position)
  callee-after     entry calls computation `sub` (id 2), listed after entry
  splits           computations while_body, reducer, cluster_3, branch_cond
                   (two instructions each) before entry, which calls them
  splits-last      the same with entry named cluster_entry
  unpacked         operand ids as one varint field each instead of packed
  unknown-fields   extra unknown fields (a varint, fixed32/64, a nested group)
  unknown-opcode   the add's opcode is "frobnicate"
  no-runtime       a third run without a profile
  missing-operand  add refers to operand id 99
  cycle            p0 takes add as an operand
  bad-call         add calls computation id 77
  dup-id           p1 has p0's id
  bad-config-node  config_index_to_node names node 55 (of 3)
  dup-config-node  config_index_to_node names node 2 twice
  bad-root         root_id 42
  mixed-runs       one tile run among layout runs
  tile             tile runs (op_config) instead of layout ones
  tile-no-default  tile runs, none marked is_default
  layout-nodes     a layout run with 2 nodes for 1 configurable node
  bare-module      the HloModuleProto alone (wrong message type)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pbraw import encode  # noqa: E402


def v(f, x):
    return (f, 'v', x & ((1 << 64) - 1))


def s(f, text):
    return (f, 's', text.encode() if isinstance(text, str) else text)


def m(f, *children):
    return (f, 's', encode(list(children)))


def packed(f, vals):
    return (f, 's', b''.join(encode([(1, 'v', x & ((1 << 64) - 1))])[1:] for x in vals))


def shape(et, dims, m2m=None):
    kids = [v(2, et)]
    if dims:
        kids.append(packed(3, dims))
    if m2m is not None:
        kids.append(m(5, packed(1, m2m)) if m2m else s(5, b''))
    return m(3, *kids)


def inst(name, opcode, iid, operands=(), extra=(), unpacked=False, called=()):
    kids = [s(1, name), s(2, opcode), shape(11, [4, 8], [1, 0]), v(35, iid)]
    if operands:
        if unpacked:
            kids += [v(36, o) for o in operands]
        else:
            kids.append(packed(36, operands))
    if called:
        kids.append(packed(38, called))
    kids += list(extra)
    return m(2, *kids)


def layout_run(dims_per_node, error=False, default=False, runtime=None):
    nodes = []
    for tensors in dims_per_node:
        nodes.append(m(1, *[m(1, packed(1, d)) for d in tensors]))
    kids = [m(2, m(1, *nodes))]
    if error:
        kids.append(v(3, 1))
    if runtime is not None:
        kids.append(m(4, v(4, runtime)))
    if default:
        kids.append(v(5, 1))
    return m(3, *kids)


def tile_run(kernel, output, runtime, default=False):
    tsc = []
    if kernel:
        tsc.append(packed(1, kernel))
    if output:
        tsc.append(packed(2, output))
    kids = [m(1, m(1, *tsc)), m(4, v(4, runtime))]
    if default:
        kids.append(v(5, 1))
    return m(3, *kids)


def build(case):
    p0 = dict(name='p0', opcode='parameter', iid=10)
    p1 = dict(name='p1', opcode='parameter', iid=11, extra=[v(9, 1)])
    add = dict(name='add', opcode='add', iid=12, operands=[10, 11])
    root = 12
    comps_after = []
    cfg_ids = [2]
    comps_before = []
    runs = [layout_run([[[1, 0], [0, 1]]], runtime=2000),
            layout_run([[[0, 1]]], default=True, runtime=1500)]
    if case == 'unpacked':
        add['unpacked'] = True
    if case == 'unknown-fields':
        add['extra'] = [v(1000, 7), (1001, 'f32', 0xdeadbeef),
                        (1002, 'f64', 0x0123456789abcdef), ('group', 1003)]
    if case == 'unknown-opcode':
        add['opcode'] = 'frobnicate'
    if case == 'missing-operand':
        add['operands'] = [10, 99]
    if case == 'cycle':
        p0['operands'] = [12]
    if case == 'bad-call':
        add['called'] = [77]
    if case == 'callee-after':
        add['called'] = [2]
        comps_after.append(m(3, s(1, 'sub'), inst('q', 'parameter', 20),
                             inst('neg', 'negate', 21, [20]), v(5, 2), v(6, 21)))
    if case == 'dup-id':
        p1['iid'] = 10
    if case in ('splits', 'splits-last'):
        names = ['while_body', 'reducer', 'cluster_3', 'branch_cond']
        for k, cn in enumerate(names):
            q, neg = 20 + 2 * k, 21 + 2 * k
            comps_before.append(m(3, s(1, cn), inst('q', 'parameter', q),
                                  inst('neg', 'negate', neg, [q]), v(5, 2 + k),
                                  v(6, neg)))
        add['called'] = [2 + k for k in range(len(names))]
        cfg_ids = [10]  # 4 computations of 2 before the entry's p0 p1 add
    if case == 'bad-config-node':
        cfg_ids = [55]
    if case == 'dup-config-node':
        cfg_ids = [2, 2]
    if case == 'bad-root':
        root = 42
    if case == 'no-runtime':
        runs.append(layout_run([[[1, 0]]]))
    if case == 'mixed-runs':
        runs.append(tile_run([1, 2], [3], 100))
    if case in ('tile', 'tile-no-default'):
        d = case == 'tile'
        runs = [tile_run([], [2, 26, 4, 2], 1000, default=d),
                tile_run([8, 1], [1, 2], 900), tile_run([3], [], 1100)]
        cfg_ids = []
    if case == 'layout-nodes':
        runs.append(layout_run([[[1, 0]], [[0, 1]]], runtime=1800))
    order = [p0, p1, add]
    if case == 'reordered':
        order = [add, p1, p0]
        cfg_ids = [0]
    insts = []
    for d in order:
        extra = list(d.get('extra', ()))
        grp = [x for x in extra if x[0] == 'group']
        extra = [x for x in extra if x[0] != 'group']
        i = inst(d['name'], d['opcode'], d['iid'], d.get('operands', ()), extra,
                 d.get('unpacked', False), d.get('called', ()))
        if grp:  # a nested group, raw: start tag (wire type 3) ... end tag (4)
            f = grp[0][1]
            body = encode([(1, 'v', 5)]) + bytes(_varint_bytes(7 << 3 | 3) +
                                                 _varint_bytes(7 << 3 | 4))
            i = (2, 's', i[2] + bytes(_varint_bytes(f << 3 | 3)) + body +
                 bytes(_varint_bytes(f << 3 | 4)))
        insts.append(i)
    ename = 'cluster_entry' if case == 'splits-last' else 'entry'
    entry = m(3, s(1, ename), *insts, v(5, 1), v(6, root))
    module = ([s(1, 'synthetic'), s(2, ename)] + comps_before + [entry] +
              comps_after + [v(6, 1)])
    if case == 'bare-module':
        return encode(module)
    top = [m(1, *module), v(2, 12345)] + runs
    if cfg_ids:
        top.append(packed(4, cfg_ids))
    return encode(top)


def _varint_bytes(x):
    out = []
    while True:
        b = x & 0x7f
        x >>= 7
        out.append(b | (0x80 if x else 0))
        if not x:
            return out


def main(argv):
    if len(argv) != 2 or argv[1] in ('-h', '--help'):
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.buffer.write(build(argv[1]))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
