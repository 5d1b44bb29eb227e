#!/usr/bin/python3
"""The ranking model of lib/model.c, in PyTorch: the reference the C trainer
is checked against (gradients, every --arch and --pe) and timed against
(bench/sage.sh, GraphSAGE).

Same inputs (a tpugraphs-mp stream), same transforms (sign(x) log1p|x| then
standardised with the training statistics), same layers, losses, optimiser
and schedule; see docs/model.md ("Layers", "Architectures", "Positional
encoding").  The archs are written from that specification with torch
autograd (not from the C kernels): GAT as a per-destination softmax over an
explicit list of (destination, source, role) entries, GIN and APPNP with
sparse sum / symmetric-normalised adjacency matrices, GPS's linear attention
with einsum, the random-walk encoding from dense matrix powers in numpy.
Tensors are laid out (nodes, configs, channels) so that the neighbour
aggregations are one sparse-dense product per direction (torch.sparse.mm),
the idiomatic fast form on CPU.

  sage_torch.py grads MODEL STREAM B OUT.json
      float64 forward/backward of MODEL (any arch, with or without the
      positional encoding) on the first graph of STREAM and its first B
      configs, loss = the mixed ranking loss; writes scores, loss and every
      parameter's gradient as JSON (compared with test_model --grads).
      More MODEL STREAM B OUT.json groups may follow: one process, torch
      imported once.  With --float32 the same in float32: how far float32
      rounding alone moves each value (compare_grads.py --f32).
  sage_torch.py loss MODEL STREAM [--loss K --mix W --margin M --mape W]
      float64: the training loss of MODEL over every config of every graph
      of STREAM, the mean over the graphs (sage-train's logged loss of a
      step that takes them all; tests/cli/sage-train.bats).
  sage_torch.py train --out-json FILE [options] TRAIN.mp [--valid VALID.mp]
      trains the GraphSAGE model (--arch sage, no positional encoding:
      the other archs are checked by `grads` only) in float32 the way
      sage-train does and reports seconds per epoch and the valid score;
      the options mirror sage-train's.
"""
import argparse
import json
import math
import sys
import time
import warnings

import msgpack
import numpy as np
import torch
import torch.nn.functional as F

DT = {"f32": "<f4", "f64": "<f8", "i8": "i1", "i16": "<i2", "i32": "<i4", "i64": "<i8",
      "u8": "u1", "u16": "<u2", "u32": "<u4", "u64": "<u8", "bool": "?"}
NFEAT, NOPS, NSYM, NSLOT, NTILE = 140, 128, 7, 18, 24
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
warnings.filterwarnings("ignore", message="scatter_reduce\(\) is in beta")


def tensor(t):
    return np.frombuffer(t["data"], DT[t["dtype"]]).reshape(t["shape"])


def records(path):
    with open(path, "rb") as f:
        yield from msgpack.Unpacker(f, raw=False, max_buffer_size=1 << 31)


def log_t(x):
    return np.sign(x) * np.log1p(np.abs(x))


def base7(codes):
    """(..., 3) codes -> (..., 18) symbols 0..6, slot 0 least significant."""
    c = codes.astype(np.int64)[..., None] // (7 ** np.arange(6)) % 7
    return c.reshape(*codes.shape[:-1], NSLOT)


def load_set(path, max_configs=0, seed=1):
    """Graphs with their configs, the way model_set_read holds them."""
    gs = []
    for r in records(path):
        if r["t"] == "graph":
            coll = r.get("collection", "")
            tile = coll.startswith("tile") if coll else "node_config_ids" not in r
            n = int(tensor(r["node_feat"]).shape[0])
            ids = tensor(r["node_config_ids"]).astype(np.int64) if not tile else np.zeros(0, np.int64)
            op = tensor(r["node_opcode"]).astype(np.int64)
            op = np.where((op >= 0) & (op < NOPS), op, 0)
            gs.append(dict(id=r["id"], tile=tile, n=n,
                           feat=log_t(tensor(r["node_feat"]).astype(np.float32)).astype(np.float32),
                           op=op, edges=tensor(r["edge_index"]).astype(np.int64), ids=ids,
                           cfg=[], target=[], cidx=[]))
        elif r["t"] == "configs":
            g = gs[-1]
            if g["tile"]:
                g["cfg"].append(log_t(tensor(r["config_feat"]).astype(np.float32)).astype(np.float32))
                y = tensor(r["config_runtime"]).astype(np.float64) / \
                    tensor(r["config_runtime_normalizers"]).astype(np.float64)
            else:
                if "node_config_code" in r:
                    g["cfg"].append(base7(tensor(r["node_config_code"])).astype(np.uint8))
                else:
                    g["cfg"].append((tensor(r["node_config_feat"]) + 1).astype(np.uint8))
                y = tensor(r["config_runtime"]).astype(np.float64)
            g["target"].append(y)
            g["cidx"].append(tensor(r["config_index"]).astype(np.int64))
    for g in gs:
        if g["cfg"]:
            g["cfg"] = np.concatenate(g["cfg"])
            g["target"] = np.concatenate(g["target"])
            g["cidx"] = np.concatenate(g["cidx"])
        else:
            w = (0, NTILE) if g["tile"] else (0, len(g["ids"]), NSLOT)
            g["cfg"] = np.zeros(w, np.float32 if g["tile"] else np.uint8)
            g["target"] = np.zeros(0)
            g["cidx"] = np.zeros(0, np.int64)
    return gs


def fit_stats(gs):
    x = np.concatenate([g["feat"] for g in gs]).astype(np.float64)
    mu, sd = x.mean(0), x.std(0)
    sd = np.where(sd > 1e-6, sd, 1.0)
    tmu, tsd = np.zeros(NTILE), np.ones(NTILE)
    if gs and gs[0]["tile"]:
        t = np.concatenate([g["cfg"] for g in gs]).astype(np.float64)
        tmu, tsd = t.mean(0), t.std(0)
        tsd = np.where(tsd > 1e-6, tsd, 1.0)
    return dict(feat_mean=mu.astype(np.float32), feat_std=sd.astype(np.float32),
                tile_mean=tmu.astype(np.float32), tile_std=tsd.astype(np.float32))


def standardize(gs, st):
    for g in gs:
        g["feat"] = (g["feat"] - st["feat_mean"]) / st["feat_std"]
        if g["tile"]:
            g["cfg"] = (g["cfg"] - st["tile_mean"]) / st["tile_std"]


def mean_adj(rows, cols, n, dtype):
    """(n, n) sparse matrix averaging row r over its cols: CSR, the faster
    of torch's sparse formats for this product on CPU (measured)."""
    deg = np.bincount(rows, minlength=n).astype(np.float64)
    w = 1.0 / deg[rows] if len(rows) else np.zeros(0)
    a = torch.sparse_coo_tensor(np.stack([rows, cols]), torch.tensor(w, dtype=dtype), (n, n))
    return a.coalesce().to_sparse_csr()


def sparse(rows, cols, w, n, dtype):
    """(n, n) sparse matrix with w summed at (rows, cols), as CSR."""
    a = torch.sparse_coo_tensor(np.stack([rows, cols]), torch.tensor(w, dtype=dtype), (n, n))
    return a.coalesce().to_sparse_csr()


def rwpe(edges, n, k):
    """(n, k) random-walk encoding from dense matrix powers: pe[u, j] =
    (P^(j+1))_uu, P = D^-1 A over the undirected multigraph without added
    self loops (A[u, v] counts the edges u->v and v->u); 0 for a node
    without neighbours."""
    a = np.zeros((n, n))
    if len(edges):
        np.add.at(a, (edges[:, 0], edges[:, 1]), 1.0)
        np.add.at(a, (edges[:, 1], edges[:, 0]), 1.0)
    d = a.sum(1)
    p = np.divide(a, d[:, None], out=np.zeros_like(a), where=d[:, None] > 0)
    pe, pk = np.zeros((n, k)), p.copy()
    for j in range(k):
        pe[:, j] = np.diag(pk)
        pk = pk @ p
    return pe


class Graph:
    """A graph's tensors, prepared once (config-independent); what the
    arch (hp) needs only."""

    def __init__(self, g, dtype, hp=None):
        arch = hp.get("arch", "sage") if hp else "sage"
        e = g["edges"]
        u, v = (e[:, 0], e[:, 1]) if len(e) else (np.zeros(0, np.int64),) * 2
        n = self.n = g["n"]
        self.feat = torch.tensor(g["feat"], dtype=dtype)
        self.op = torch.tensor(g["op"])
        self.ids = torch.tensor(g["ids"])
        if arch in ("sage", "gps"):
            self.a_in = mean_adj(u, v, n, dtype)     # u averages its producers v
            self.a_out = mean_adj(v, u, n, dtype)    # v averages its consumers u
        if arch == "gin":
            # sum over producers and consumers: A[u, v] += 1 and A[v, u] += 1 per edge
            self.a_sum = sparse(np.concatenate([u, v]), np.concatenate([v, u]),
                                np.ones(2 * len(u)), n, dtype)
        if arch == "gat":
            # u's list: itself (role 0), its producers (1), its consumers (2)
            ar = np.arange(n)
            self.dst = torch.tensor(np.concatenate([ar, u, v]))
            self.src = torch.tensor(np.concatenate([ar, v, u]))
            self.role = torch.tensor(np.concatenate([np.zeros(n, np.int64), np.ones(len(u), np.int64),
                                                     np.full(len(u), 2, np.int64)]))
        if arch == "appnp":
            # A_hat = D^-1/2 (A + I) D^-1/2, d = 1 + |in| + |out|
            ar = np.arange(n)
            d = 1.0 + np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
            r, c = np.concatenate([ar, u, v]), np.concatenate([ar, v, u])
            self.a_hat = sparse(r, c, 1.0 / np.sqrt(d[r] * d[c]), n, dtype)
        self.pe = None
        if hp and hp.get("pe_k", 0) > 0:
            self.pe = torch.tensor(rwpe(e, n, hp["pe_k"]), dtype=dtype)


ARCHS = ("sage", "gat", "gin", "appnp", "gps", "mlp")


class Sage(torch.nn.Module):
    """The model for hp (load_model's dict): arch, heads, appnp_k,
    appnp_alpha, pe_k, tile_join and norm default to the plain GraphSAGE."""

    def __init__(self, hp, dtype=torch.float32):
        super().__init__()
        hp = dict(dict(arch="sage", heads=4, appnp_k=10, appnp_alpha=0.1, pe_k=0,
                       tile_join="early", norm="instance"), **hp)
        if hp["arch"] not in ARCHS:
            raise ValueError("unknown arch %r" % hp["arch"])
        self.hp = hp
        H, E, C, R = hp["hidden"], hp["op_dim"], hp["cfg_dim"], hp["se_dim"]
        P = H * (2 if hp["pool"] == "mean+max" else 1)
        shapes = [("op_emb", (NOPS, E)), ("op_w", (H, E)), ("in_w", (H, NFEAT)), ("in_b", (H,))]
        if hp["pe_k"] > 0:
            shapes += [("pe_w", (H, hp["pe_k"]))]
        if hp["kind"] == "layout":
            shapes += [("cfg_emb", (NSYM, C)), ("cfg_w", (H, NSLOT * C))]
        else:
            shapes += [("cfg_w", (P if hp["tile_join"] == "late" else H, NTILE))]
        conv = {"sage": [("sage_w", (3 * H, H)), ("sage_b", (H,))],
                "gps": [("sage_w", (3 * H, H)), ("sage_b", (H,)), ("la_w", (3 * H, H)),
                        ("la_b", (3 * H,)), ("la_o", (H, H)), ("la_ob", (H,))],
                "gat": [("gat_w", (H, H)), ("gat_a", (4, H)), ("gat_b", (H,))],
                "gin": [("gin_eps", (1,)), ("gin_w1", (H, H)), ("gin_b1", (H,)),
                        ("gin_w2", (H, H)), ("gin_b2", (H,))],
                "appnp": [("lin_w", (H, H)), ("lin_b", (H,))],
                "mlp": [("lin_w", (H, H)), ("lin_b", (H,))]}[hp["arch"]]
        for l in range(hp["layers"]):
            shapes += [("l%d.norm_g" % l, (H,)), ("l%d.norm_b" % l, (H,))]
            shapes += [("l%d.%s" % (l, n), sh) for n, sh in conv]
            if hp["se"]:
                shapes += [("l%d.se_w1" % l, (R, H)), ("l%d.se_b1" % l, (R,)),
                           ("l%d.se_w2" % l, (H, R)), ("l%d.se_b2" % l, (H,))]
        if hp["xattn"]:
            shapes += [("xa_w", (3 * P, P)), ("xa_b", (3 * P,))]
        shapes += [("head_w1", (H, P)), ("head_b1", (H,)), ("head_w2", (1, H)), ("head_b2", (1,))]
        self.names = [n for n, _ in shapes]
        self.p = torch.nn.ParameterDict(
            {n.replace(".", "_"): torch.nn.Parameter(torch.zeros(s, dtype=dtype)) for n, s in shapes})

    def w(self, name):
        return self.p[name.replace(".", "_")]

    def init(self, seed):
        """Not the C init (different generator); same distributions (the
        GraphSAGE tensors: train's model)."""
        gen = torch.Generator().manual_seed(seed)
        for n in self.names:
            t = self.w(n)
            with torch.no_grad():
                if n.endswith("norm_g"):
                    t.fill_(1.0)
                elif t.dim() == 1:
                    t.zero_()
                else:
                    std = 1.0 if n in ("op_emb", "cfg_emb") else 1.0 / math.sqrt(t.shape[1])
                    t.copy_(torch.randn(t.shape, generator=gen, dtype=t.dtype) * std)

    # ---- the convs: h (N, B, H) -> y (N, B, H) ----

    def sage_conv(self, g, l, h):
        w, H = self.w, self.hp["hidden"]
        N, B = h.shape[0], h.shape[1]
        # three products into contiguous tensors (slicing one (N, B, 3H)
        # product costs a full-size zero-filled gradient per slice)
        ws, wi, wo = w("l%d.sage_w" % l).split(H, 0)
        return torch.addmm(w("l%d.sage_b" % l), h.reshape(N * B, H), ws.t()).view(N, B, H) \
            + torch.sparse.mm(g.a_in, (h @ wi.t()).view(N, B * H)).view(N, B, H) \
            + torch.sparse.mm(g.a_out, (h @ wo.t()).view(N, B * H)).view(N, B, H)

    def gat_conv(self, g, l, h):
        """Multi-head attention of u over its list [u, producers, consumers]:
        a softmax per (destination, head) over the list entries."""
        w, H, K = self.w, self.hp["hidden"], self.hp["heads"]
        N, B, D = h.shape[0], h.shape[1], H // K
        z = (h @ w("l%d.gat_w" % l).t()).view(N, B, K, D)
        a = w("l%d.gat_a" % l).view(4, K, D)
        s_dst = (z * a[0]).sum(-1)                                          # (N, B, K)
        s_src = torch.stack([(z * a[1 + r]).sum(-1) for r in range(3)])     # (3, N, B, K)
        e = F.leaky_relu(s_dst[g.dst] + s_src[g.role, g.src], 0.2)         # (M, B, K)
        idx = g.dst.view(-1, 1, 1).expand_as(e)
        mx = torch.full((N, B, K), -math.inf, dtype=e.dtype).scatter_reduce(
            0, idx, e.detach(), "amax", include_self=True)                   # a constant shift
        ex = torch.exp(e - mx[g.dst])
        den = torch.zeros(N, B, K, dtype=e.dtype).index_add(0, g.dst, ex)
        alpha = ex / den[g.dst]
        y = torch.zeros(N, B, K, D, dtype=e.dtype).index_add(0, g.dst, alpha.unsqueeze(-1) * z[g.src])
        return y.reshape(N, B, H) + w("l%d.gat_b" % l)

    def gin_conv(self, g, l, h):
        w, H = self.w, self.hp["hidden"]
        N, B = h.shape[0], h.shape[1]
        agg = torch.sparse.mm(g.a_sum, h.reshape(N, B * H)).view(N, B, H)
        gg = (1 + w("l%d.gin_eps" % l)) * h + agg
        t = F.gelu(gg @ w("l%d.gin_w1" % l).t() + w("l%d.gin_b1" % l), approximate="tanh")
        return t @ w("l%d.gin_w2" % l).t() + w("l%d.gin_b2" % l)

    def lin_attn(self, l, h):
        """Linear attention over the nodes of each config, K heads."""
        w, H, K = self.w, self.hp["hidden"], self.hp["heads"]
        N, B, D = h.shape[0], h.shape[1], H // K
        qkv = h @ w("l%d.la_w" % l).t() + w("l%d.la_b" % l)                   # (N, B, 3H)
        q, k, v = (t.reshape(N, B, K, D) for t in qkv.split(H, -1))
        fq, fk = F.elu(q) + 1, F.elu(k) + 1
        S = torch.einsum("nbki,nbkj->bkij", fk, v)                           # (B, K, D, D)
        z = fk.sum(0)                                                        # (B, K, D)
        num = torch.einsum("nbki,bkij->nbkj", fq, S)
        den = (fq * z).sum(-1, keepdim=True) + 1e-6
        o = (num / den).reshape(N, B, H)
        return o @ w("l%d.la_o" % l).t() + w("l%d.la_ob" % l)

    def conv(self, g, l, h):
        arch, w = self.hp["arch"], self.w
        if arch == "sage":
            return self.sage_conv(g, l, h)
        if arch == "gps":
            return self.sage_conv(g, l, h) + self.lin_attn(l, h)
        if arch == "gat":
            return self.gat_conv(g, l, h)
        if arch == "gin":
            return self.gin_conv(g, l, h)
        return h @ w("l%d.lin_w" % l).t() + w("l%d.lin_b" % l)             # appnp, mlp

    def forward(self, g, cfg):
        """g: Graph; cfg: layout symbols (B, nc, 18) long or tile (B, 24).
        Returns scores (B,)."""
        hp, w = self.hp, self.w
        H = hp["hidden"]
        B = cfg.shape[0]
        N = g.n
        prod = hp["arch"] == "mlp"     # x0 = Pn + c + Pn * c
        pn = g.feat @ w("in_w").t() + w("in_b") + (w("op_emb") @ w("op_w").t())[g.op]   # (N, H)
        if hp["pe_k"] > 0:
            pn = pn + g.pe @ w("pe_w").t()
        if hp["kind"] == "layout":
            e = w("cfg_emb")[cfg].reshape(B, -1, NSLOT * hp["cfg_dim"])             # (B, nc, 18C)
            c = (e @ w("cfg_w").t()).transpose(0, 1)                                 # (nc, B, H)
            if prod:
                c = c + pn[g.ids].unsqueeze(1) * c
            x = pn.unsqueeze(1).expand(N, B, H).clone()                              # (N, B, H)
            x.index_add_(0, g.ids, c)
        elif hp["tile_join"] == "late":
            # the body runs once, config-free; the config joins after pooling
            x, B = pn.unsqueeze(1), 1                                                # (N, 1, H)
        else:
            c = (cfg @ w("cfg_w").t()).unsqueeze(0)                                  # (1, B, H)
            x = pn.unsqueeze(1) + c                                                  # (N, B, H)
            if prod:
                x = x + pn.unsqueeze(1) * c
        for l in range(hp["layers"]):
            if hp["norm"] == "layer":
                # layer norm over the channels of each node and config
                var, mu = torch.var_mean(x, -1, unbiased=False, keepdim=True)      # (N, B, 1)
                h = (x - mu) * torch.rsqrt(var + 1e-5) * w("l%d.norm_g" % l) + w("l%d.norm_b" % l)
            else:
                # instance norm over the nodes: one var_mean pass, one fused affine
                var, mu = torch.var_mean(x, 0, unbiased=False)                     # (B, H)
                scale = torch.rsqrt(var + 1e-5) * w("l%d.norm_g" % l)
                h = torch.addcmul(w("l%d.norm_b" % l) - mu * scale, x, scale)        # (N, B, H)
            y = self.conv(g, l, h)
            if hp["se"]:
                sq = y.mean(0)                                                       # (B, H)
                a = F.gelu(sq @ w("l%d.se_w1" % l).t() + w("l%d.se_b1" % l), approximate="tanh")
                s = torch.sigmoid(a @ w("l%d.se_w2" % l).t() + w("l%d.se_b2" % l))
                y = y * s.unsqueeze(0)
            x = F.gelu(x + y, approximate="tanh")
        if hp["arch"] == "appnp":
            # personalised PageRank propagation before pooling
            al, x0 = hp["appnp_alpha"], x.reshape(N, B * H)
            z = x0
            for _ in range(hp["appnp_k"]):
                z = (1 - al) * torch.sparse.mm(g.a_hat, z) + al * x0
            x = z.view(N, B, H)
        pooled = x.mean(0)
        if hp["pool"] == "mean+max":
            pooled = torch.cat([pooled, x.max(0).values], 1)                         # (B, P)
        if hp["kind"] == "tile" and hp["tile_join"] == "late":
            pooled = pooled + cfg @ w("cfg_w").t()                                   # (B, P)
        if hp["xattn"]:
            P = pooled.shape[1]
            qkv = pooled @ w("xa_w").t() + w("xa_b")
            q, k, v = qkv[:, :P], qkv[:, P:2 * P], qkv[:, 2 * P:]
            att = torch.softmax(q @ k.t() / math.sqrt(P), 1)
            pooled = pooled + att @ v
        hid = F.gelu(pooled @ w("head_w1").t() + w("head_b1"), approximate="tanh")
        return (hid @ w("head_w2").t() + w("head_b2")).squeeze(1)


def hinge(s, y, margin):
    """mean over pairs y_i < y_j of relu(margin - (s_j - s_i))."""
    m = (y.unsqueeze(1) < y.unsqueeze(0))                     # m[i, j]: i faster
    if not bool(m.any()):
        return s.sum() * 0
    d = margin - (s.unsqueeze(0) - s.unsqueeze(1))            # [i, j] = margin - (s_j - s_i)
    return torch.relu(d)[m].sum() / m.sum()


def listmle(s, y):
    order = torch.tensor(np.argsort(y.detach().cpu().numpy(), kind="stable"))
    f = -s[order]
    lse = torch.logcumsumexp(f.flip(0), 0).flip(0)
    return (lse - f).sum() / len(s)


def diffmat(s, y, margin):
    """mean over pairs y_i < y_j of relu(margin (log y_j - log y_i) - (s_j - s_i))."""
    m = (y.unsqueeze(1) < y.unsqueeze(0))
    if not bool(m.any()):
        return s.sum() * 0
    ly = torch.log(torch.clamp(y, min=sys.float_info.min))
    d = margin * (ly.unsqueeze(0) - ly.unsqueeze(1)) - (s.unsqueeze(0) - s.unsqueeze(1))
    return torch.relu(d)[m].sum() / m.sum()


def mape(s, y):
    """mean |exp(d) - 1|, d = (s - mean s) - (log y - mean log y), clamped to 30."""
    ly = torch.log(torch.clamp(y, min=sys.float_info.min))
    d = torch.clamp((s - s.mean()) - (ly - ly.mean()), max=30.0)
    return torch.abs(torch.exp(d) - 1).mean()


def rank_loss(s, y, margin, wh, wl):
    out = s.sum() * 0
    if wh:
        out = out + wh * hinge(s, y, margin)
    if wl:
        out = out + wl * listmle(s, y)
    return out


def load_model(path):
    hp, st, params = None, None, {}
    for r in records(path):
        if r["t"] == "model":
            hp = dict(kind=r["kind"], hidden=r["hidden"], layers=r["layers"], op_dim=r["op_dim"],
                      cfg_dim=r["cfg_dim"], pool=r["pool"], se=bool(r["se"]), se_dim=r["se_dim"],
                      xattn=bool(r["xattn"]), batch=r["batch"],
                      # version 2 (version 1 files are GraphSAGE without encoding)
                      arch=r.get("arch", "sage"), heads=r.get("heads", 4),
                      appnp_k=r.get("appnp_k", 10), appnp_alpha=r.get("appnp_alpha", 0.1),
                      pe_k=r.get("pe_k", 0), tile_join=r.get("tile_join", "early"),
                      norm=r.get("norm", "instance"))
            st = {k: tensor(r[k]).astype(np.float32) for k in ("feat_mean", "feat_std", "tile_mean", "tile_std")}
        elif r["t"] == "param":
            params[r["name"]] = tensor(r["value"])
    return hp, st, params


def batch_input(g, idx, dtype):
    if g["tile"]:
        return torch.tensor(g["cfg"][idx], dtype=dtype)
    return torch.tensor(g["cfg"][idx].astype(np.int64))


def grads(model, stream, B, out, margin, mix, dtype=torch.float64):
    hp, st, params = load_model(model)
    gs = load_set(stream)
    standardize(gs, st)
    m = Sage(hp, dtype)
    with torch.no_grad():
        for n in m.names:
            m.w(n).copy_(torch.tensor(params[n], dtype=dtype).reshape(m.w(n).shape))
    g = gs[0]
    if g["tile"] != (hp["kind"] == "tile"):
        sys.exit("sage_torch.py: %s is a %s model, %s's first graph is not" % (model, hp["kind"], stream))
    idx = np.arange(min(B, len(g["target"])))
    s = m(Graph(g, dtype, m.hp), batch_input(g, idx, dtype))
    y = torch.tensor(g["target"][idx], dtype=dtype)
    loss = rank_loss(s, y, margin, mix, 1 - mix)
    loss.backward()
    out_d = dict(scores=s.detach().tolist(), loss=float(loss),
                 grads={n: m.w(n).grad.reshape(-1).tolist() for n in m.names})
    with open(out, "w") as f:
        json.dump(out_d, f)


def cmd_loss(a):
    """The training loss of MODEL on every config of every graph of STREAM
    (graphs with two or more configs), the mean over the graphs: what
    sage-train logs for a step over all of them."""
    hp, st, params = load_model(a.model)
    gs = load_set(a.stream)
    standardize(gs, st)
    m = Sage(hp, torch.float64)
    with torch.no_grad():
        for n in m.names:
            m.w(n).copy_(torch.tensor(params[n], dtype=torch.float64).reshape(m.w(n).shape))
    wh = 1.0 if a.loss == "hinge" else a.mix if a.loss == "mixed" else 0.0
    wl = 1.0 if a.loss == "listmle" else 1 - a.mix if a.loss == "mixed" else 0.0
    vals = []
    with torch.no_grad():
        for g in gs:
            n = len(g["target"])
            if n < 2:
                continue
            s = m(Graph(g, torch.float64, m.hp), batch_input(g, np.arange(n), torch.float64))
            y = torch.tensor(g["target"], dtype=torch.float64)
            v = diffmat(s, y, a.margin) if a.loss == "diffmat" else rank_loss(s, y, a.margin, wh, wl)
            if a.mape > 0:
                v = v + a.mape * mape(s, y)
            vals.append(float(v))
    print("%.9g" % (sum(vals) / len(vals)))


def cmd_grads(a):
    dtype = torch.float32 if a.float32 else torch.float64
    torch.set_default_dtype(dtype)
    if len(a.more) % 4:
        sys.exit("sage_torch.py grads: want MODEL STREAM B OUT.json, repeated")
    jobs = [(a.model, a.stream, a.B, a.out)] + \
        [(a.more[i], a.more[i + 1], int(a.more[i + 2]), a.more[i + 3]) for i in range(0, len(a.more), 4)]
    for model, stream, B, out in jobs:
        grads(model, stream, B, out, a.margin, a.mix, dtype)


def evaluate(m, gs, graphs, B):
    from scipy.stats import kendalltau
    vals = []
    with torch.no_grad():
        for g, G in zip(gs, graphs):
            n = len(g["target"])
            if n == 0:
                continue
            s = np.concatenate([m(G, batch_input(g, np.arange(c, min(c + B, n)), torch.float32)).numpy()
                                for c in range(0, n, B)]).astype(np.float64)
            if g["tile"]:
                order = np.lexsort((g["cidx"], s))
                vals.append(2 - g["target"][order[:5]].min() / g["target"].min())
            else:
                t = kendalltau(s, g["target"]).correlation
                vals.append(0.0 if np.isnan(t) else t)
    return float(np.mean(vals)) if vals else float("nan")


def cmd_train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t0 = time.time()
    train = load_set(a.train)
    st = fit_stats(train)
    standardize(train, st)
    valid = []
    if a.valid:
        valid = load_set(a.valid)
        standardize(valid, st)
    hp = dict(kind="tile" if train[0]["tile"] else "layout", hidden=a.hidden, layers=a.layers,
              op_dim=a.op_dim, cfg_dim=a.cfg_dim, pool=a.pool, se=a.se == "on", se_dim=a.se_dim,
              xattn=a.xattn == "on", batch=a.configs_per_graph)
    m = Sage(hp)
    m.init(a.seed)
    tg = [Graph(g, torch.float32) for g in train]
    vg = [Graph(g, torch.float32) for g in valid]
    if a.graphs_per_step == 0:
        a.graphs_per_step = 8 if hp["kind"] == "tile" else 1
    usable = [i for i, g in enumerate(train) if len(g["target"]) >= 2]
    steps = (len(usable) + a.graphs_per_step - 1) // a.graphs_per_step
    total = steps * a.epochs
    warm = a.warmup if a.warmup >= 0 else total // 20
    decay = [m.w(n) for n in m.names if m.w(n).dim() == 2]
    nodecay = [m.w(n) for n in m.names if m.w(n).dim() != 2]
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=a.weight_decay),
                             dict(params=nodecay, weight_decay=0.0)], lr=a.lr, eps=1e-8)

    def lr_at(t):
        if t < warm:
            return a.lr * (t + 1) / warm
        span = total - warm
        prog = min(1.0, (t - warm) / span) if span > 0 else 0.0
        return a.lr_min + 0.5 * (a.lr - a.lr_min) * (1 + math.cos(math.pi * prog))

    wh = 1.0 if a.loss == "hinge" else a.mix if a.loss == "mixed" else 0.0
    wl = 1.0 if a.loss == "listmle" else 1 - a.mix if a.loss == "mixed" else 0.0
    rng = np.random.default_rng(a.seed)
    hist, step = [], 0
    load_s = time.time() - t0
    for ep in range(a.epochs):
        te = time.time()
        order = rng.permutation(usable)
        loss_sum, nconf = 0.0, 0
        for s in range(steps):
            part = order[s * a.graphs_per_step:(s + 1) * a.graphs_per_step]
            opt.zero_grad()
            tot = 0.0
            for gi in part:
                g = train[gi]
                n = len(g["target"])
                idx = rng.choice(n, min(n, a.configs_per_graph), replace=False)
                sc = m(tg[gi], batch_input(g, idx, torch.float32))
                loss = rank_loss(sc, torch.tensor(g["target"][idx]), a.margin, wh, wl) / len(part)
                loss.backward()
                tot += float(loss)
                nconf += len(idx)
            if a.clip > 0:
                torch.nn.utils.clip_grad_norm_(m.parameters(), a.clip)
            for grp in opt.param_groups:
                grp["lr"] = lr_at(step)
            opt.step()
            step += 1
            loss_sum += tot
        ttrain = time.time() - te
        score = evaluate(m, valid, vg, a.configs_per_graph) if valid else float("nan")
        hist.append(dict(epoch=ep + 1, loss=loss_sum / steps, valid=score, seconds=time.time() - te,
                         train_seconds=ttrain, configs_per_s=nconf / ttrain if ttrain > 0 else 0))
        if not a.quiet:
            print("sage_torch: epoch %d/%d  loss %.4f  valid %.4f  %.1f s  %.0f configs/s" %
                  (ep + 1, a.epochs, hist[-1]["loss"], score, hist[-1]["seconds"],
                   hist[-1]["configs_per_s"]), file=sys.stderr)
    if a.out_json:
        json.dump(dict(load_seconds=load_s, epochs=hist), open(a.out_json, "w"))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grads")
    g.add_argument("model")
    g.add_argument("stream")
    g.add_argument("B", type=int)
    g.add_argument("out")
    g.add_argument("more", nargs="*", metavar="MODEL STREAM B OUT.json",
                   help="more jobs, in one process (torch loads once)")
    g.add_argument("--margin", type=float, default=0.1)
    g.add_argument("--mix", type=float, default=0.5)
    g.add_argument("--float32", action="store_true",
                   help="compute in float32, as the C model does: the yardstick for how much "
                        "float32 rounding alone moves each gradient (compare_grads.py --f32)")
    lo = sub.add_parser("loss")
    lo.add_argument("model")
    lo.add_argument("stream")
    lo.add_argument("--loss", default="mixed", choices=["hinge", "listmle", "mixed", "diffmat"])
    lo.add_argument("--mix", type=float, default=0.5)
    lo.add_argument("--margin", type=float, default=0.1)
    lo.add_argument("--mape", type=float, default=0.0)
    t = sub.add_parser("train")
    t.add_argument("train")
    t.add_argument("--valid")
    t.add_argument("--out-json")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--configs-per-graph", type=int, default=64)
    t.add_argument("--graphs-per-step", type=int, default=0)
    t.add_argument("--hidden", type=int, default=64)
    t.add_argument("--layers", type=int, default=3)
    t.add_argument("--op-dim", type=int, default=16)
    t.add_argument("--cfg-dim", type=int, default=4)
    t.add_argument("--pool", default="mean+max")
    t.add_argument("--se", default="on")
    t.add_argument("--se-dim", type=int, default=16)
    t.add_argument("--xattn", default="off")
    t.add_argument("--loss", default="mixed")
    t.add_argument("--mix", type=float, default=0.5)
    t.add_argument("--margin", type=float, default=0.1)
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--lr-min", type=float, default=1e-5)
    t.add_argument("--warmup", type=int, default=-1)
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("--clip", type=float, default=1.0)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if a.cmd == "grads":
        cmd_grads(a)
    elif a.cmd == "loss":
        cmd_loss(a)
    else:
        cmd_train(a)


if __name__ == "__main__":
    main()
