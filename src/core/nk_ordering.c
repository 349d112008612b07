/* nk_ordering.c - fill-reducing ordering, symbolic fill, column colouring and
 * the grouped finite-difference Jacobian for sparse patterns (see
 * nk_ordering.h).
 *
 * The ordering is approximate minimum degree on the quotient graph of
 * A + A^T (Amestoy, Davis & Duff 1996): element absorption, mass elimination,
 * supervariable detection by hashing, approximate external degrees, and
 * in-place storage with garbage collection.  Dense rows are set aside first.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nk_ordering.h"

/* ------------------------------------------------------------------ */
/* patterns                                                            */

nk_status nk_pattern_check(int n, int nnz, const int *colptr, const int *rowind) {
  if (n <= 0 || nnz < 0 || !colptr || (nnz > 0 && !rowind)) return NK_ERR_ARGUMENT;
  if (colptr[0] != 0 || colptr[n] != nnz) return NK_ERR_ARGUMENT;
  int *mark = (int *)malloc((size_t)n * sizeof(int));
  if (!mark) return NK_ERR_MEMORY;
  for (int i = 0; i < n; ++i) mark[i] = -1;
  nk_status st = NK_SUCCESS;
  for (int j = 0; j < n && st == NK_SUCCESS; ++j) {
    if (colptr[j + 1] < colptr[j] || colptr[j + 1] > nnz) { st = NK_ERR_ARGUMENT; break; }
    for (int p = colptr[j]; p < colptr[j + 1]; ++p) {
      const int i = rowind[p];
      if (i < 0 || i >= n || mark[i] == j) { st = NK_ERR_ARGUMENT; break; }
      mark[i] = j;
    }
  }
  free(mark);
  return st;
}

nk_status nk_pattern_with_diag(int n, const int *colptr, const int *rowind,
                               int **ap_out, int **ai_out, int *diag, int *jmap,
                               int *nnza) {
  *ap_out = NULL;
  *ai_out = NULL;
  const int nnz = colptr[n];
  int hasdiag = 0;
  for (int j = 0; j < n; ++j)
    for (int p = colptr[j]; p < colptr[j + 1]; ++p) hasdiag += rowind[p] == j;
  if ((long)nnz + (n - hasdiag) > INT_MAX) return NK_TOO_LARGE;
  const int na = nnz + (n - hasdiag);
  int *ap = (int *)malloc((size_t)(n + 1) * sizeof(int));
  int *ai = (int *)malloc((size_t)(na > 0 ? na : 1) * sizeof(int));
  int *pos = (int *)malloc((size_t)n * sizeof(int));
  if (!ap || !ai || !pos) { free(ap); free(ai); free(pos); return NK_ERR_MEMORY; }
  /* rows of each column sorted by a counting pass over the transpose:
   * walk rows in increasing order, appending to their columns */
  int *rp = (int *)calloc((size_t)n + 1, sizeof(int));
  int *rj = (int *)malloc((size_t)(na > 0 ? na : 1) * sizeof(int));
  int *rq = (int *)malloc((size_t)(na > 0 ? na : 1) * sizeof(int)); /* J index or -1 */
  if (!rp || !rj || !rq) {
    free(ap); free(ai); free(pos); free(rp); free(rj); free(rq);
    return NK_ERR_MEMORY;
  }
  for (int j = 0; j < n; ++j) {
    int d = 0;
    for (int p = colptr[j]; p < colptr[j + 1]; ++p) {
      rp[rowind[p] + 1]++;
      d |= rowind[p] == j;
    }
    if (!d) rp[j + 1]++;
  }
  for (int i = 0; i < n; ++i) rp[i + 1] += rp[i];
  memcpy(pos, rp, (size_t)n * sizeof(int));
  for (int j = 0; j < n; ++j) {
    int d = 0;
    for (int p = colptr[j]; p < colptr[j + 1]; ++p) {
      const int i = rowind[p];
      rj[pos[i]] = j;
      rq[pos[i]++] = p;
      d |= i == j;
    }
    if (!d) { rj[pos[j]] = j; rq[pos[j]++] = -1; }
  }
  /* transpose back: columns with sorted rows */
  memset(ap, 0, (size_t)(n + 1) * sizeof(int));
  for (int q = 0; q < na; ++q) ap[rj[q] + 1]++;
  for (int j = 0; j < n; ++j) ap[j + 1] += ap[j];
  memcpy(pos, ap, (size_t)n * sizeof(int));
  for (int i = 0; i < n; ++i)
    for (int q = rp[i]; q < rp[i + 1]; ++q) {
      const int j = rj[q], dst = pos[j]++;
      ai[dst] = i;
      if (i == j) diag[j] = dst;
      if (rq[q] >= 0) jmap[rq[q]] = dst;
    }
  free(pos); free(rp); free(rj); free(rq);
  *ap_out = ap;
  *ai_out = ai;
  *nnza = na;
  return NK_SUCCESS;
}

/* Adjacency of A + A^T without the diagonal, duplicates removed:
 * node i's neighbours are adj[ptr[i] .. ptr[i+1]).  extra: spare room
 * requested after the lists (for the AMD workspace). */
static nk_status sym_adjacency(int n, const int *colptr, const int *rowind,
                               long extra, int **ptr_out, int **adj_out,
                               long *len_out) {
  int *ptr = (int *)calloc((size_t)n + 1, sizeof(int));
  int *mark = (int *)malloc((size_t)n * sizeof(int));
  if (!ptr || !mark) { free(ptr); free(mark); return NK_ERR_MEMORY; }
  for (int j = 0; j < n; ++j)
    for (int p = colptr[j]; p < colptr[j + 1]; ++p) {
      const int i = rowind[p];
      if (i != j) { ptr[i + 1]++; ptr[j + 1]++; }
    }
  long tot = 0;
  for (int i = 0; i < n; ++i) { tot += ptr[i + 1]; ptr[i + 1] = (int)tot; }
  const long cap = tot + extra + 1;
  if (cap > INT_MAX) { free(ptr); free(mark); return NK_TOO_LARGE; }
  int *adj = (int *)malloc((size_t)cap * sizeof(int));
  int *pos = (int *)malloc((size_t)n * sizeof(int));
  if (!adj || !pos) { free(ptr); free(mark); free(adj); free(pos); return NK_ERR_MEMORY; }
  memcpy(pos, ptr, (size_t)n * sizeof(int));
  for (int j = 0; j < n; ++j)
    for (int p = colptr[j]; p < colptr[j + 1]; ++p) {
      const int i = rowind[p];
      if (i != j) { adj[pos[i]++] = j; adj[pos[j]++] = i; }
    }
  /* remove duplicates (an entry and its transpose both present) */
  for (int i = 0; i < n; ++i) mark[i] = -1;
  int w = 0;
  for (int i = 0; i < n; ++i) {
    const int p0 = ptr[i], p1 = ptr[i + 1];
    ptr[i] = w;
    for (int p = p0; p < p1; ++p) {
      const int j = adj[p];
      if (mark[j] != i) { mark[j] = i; adj[w++] = j; }
    }
  }
  ptr[n] = w;
  free(mark); free(pos);
  *ptr_out = ptr;
  *adj_out = adj;
  *len_out = cap;
  return NK_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* approximate minimum degree (Amestoy, Davis & Duff 1996)              */

enum { AMD_VAR = 0, AMD_ELEM = 1, AMD_DEAD = 2 };

typedef struct {
  int n;
  int *iw;
  long iwlen, pfree;
  int *pe, *len, *elen, *nv, *deg, *w, *state;
  int *head, *next, *last;   /* degree lists */
  int *hhead, *hnext, *hkey; /* hash buckets for supervariables */
  int *mark, *rep, *order;
  int mstamp;
} amd_ws;

static void amd_list_remove(amd_ws *a, int i) {
  const int nx = a->next[i], ls = a->last[i];
  if (nx != -1) a->last[nx] = ls;
  if (ls != -1) a->next[ls] = nx;
  else a->head[a->deg[i]] = nx;
}

static void amd_list_insert(amd_ws *a, int i, int d) {
  const int h = a->head[d];
  a->next[i] = h;
  a->last[i] = -1;
  if (h != -1) a->last[h] = i;
  a->head[d] = i;
  a->deg[i] = d;
}

/* Compact the live lists (variables and elements) to the front of iw.  Each
 * live list's first entry is replaced by a negative tag naming its owner,
 * then iw is swept once (the garbage collection of the AMD paper). */
static void amd_compact(amd_ws *a) {
  for (int i = 0; i < a->n; ++i) {
    if (a->state[i] == AMD_DEAD || a->len[i] == 0) continue;
    const int p = a->pe[i];
    a->pe[i] = a->iw[p];
    a->iw[p] = -i - 1;
  }
  long dst = 0, src = 0;
  while (src < a->pfree) {
    if (a->iw[src] < 0) {
      const int i = -a->iw[src] - 1;
      const int first = a->pe[i];
      a->pe[i] = (int)dst;
      a->iw[dst++] = first;
      for (int q = 1; q < a->len[i]; ++q) a->iw[dst++] = a->iw[src + q];
      src += a->len[i];
    } else {
      ++src;
    }
  }
  a->pfree = dst;
}

static int amd_next_stamp(amd_ws *a) {
  if (a->mstamp >= INT_MAX - 1) {
    for (int i = 0; i < a->n; ++i) a->mark[i] = -1;
    a->mstamp = 0;
  }
  return ++a->mstamp;
}

/* The elimination loop on the nodes not set aside as dense (ndense of them,
 * already state DEAD).  Writes the pivot sequence into a->order and, for
 * every other eliminated node, a->rep (the node it was eliminated with). */
static nk_status amd_eliminate(amd_ws *a, int ndense, int *npiv_out) {
  const int n = a->n;
  int nel = ndense, mindeg = 0, npiv = 0;
  long lemax = 0;
  long wflg = 2;
  while (nel < n) {
    while (mindeg < n && a->head[mindeg] == -1) ++mindeg;
    if (mindeg >= n) return NK_ERR_ARGUMENT; /* cannot happen: bookkeeping */
    const int k = a->head[mindeg];
    amd_list_remove(a, k);
    int nvk = a->nv[k];
    nel += nvk;
    a->order[npiv++] = k;

    /* room for the new element: at most the variables it can reach */
    long need = a->len[k] - a->elen[k];
    for (int q = 0; q < a->elen[k]; ++q) need += a->len[a->iw[a->pe[k] + q]];
    if (need > n) need = n;
    if (a->pfree + need > a->iwlen) {
      amd_compact(a);
      if (a->pfree + need > a->iwlen) {
        const long nl = a->pfree + need + a->iwlen / 2 + n;
        if (nl > INT_MAX) return NK_TOO_LARGE;
        int *t = (int *)realloc(a->iw, (size_t)nl * sizeof(int));
        if (!t) return NK_ERR_MEMORY;
        a->iw = t;
        a->iwlen = nl;
      }
    }

    /* 1. the new element Lk: union of the absorbed elements' variables and
     *    k's own variable neighbours; members are flagged by nv < 0 */
    a->nv[k] = -nvk;
    long degme = 0;
    const long pk1 = a->pfree;
    const int pk = a->pe[k], lk = a->len[k], ek = a->elen[k];
    for (int q = 0; q < lk; ++q) {
      const int x = a->iw[pk + q];
      if (q < ek) {
        const int e = x;
        if (a->state[e] != AMD_ELEM) continue;
        for (int r = 0; r < a->len[e]; ++r) {
          const int i = a->iw[a->pe[e] + r];
          if (a->nv[i] <= 0) continue;
          degme += a->nv[i];
          a->nv[i] = -a->nv[i];
          a->iw[a->pfree++] = i;
          amd_list_remove(a, i);
        }
        a->state[e] = AMD_DEAD; /* absorbed into k */
        a->w[e] = 0;
      } else {
        const int i = x;
        if (a->nv[i] <= 0) continue;
        degme += a->nv[i];
        a->nv[i] = -a->nv[i];
        a->iw[a->pfree++] = i;
        amd_list_remove(a, i);
      }
    }
    a->pe[k] = (int)pk1;
    a->len[k] = (int)(a->pfree - pk1);
    a->elen[k] = -1;
    a->state[k] = AMD_ELEM;
    a->w[k] = 1;

    /* 2. |Le \ Lk| for every element adjacent to Lk, held as w[e] - wflg */
    if (wflg + lemax + 2 + n >= INT_MAX) {
      for (int e = 0; e < n; ++e)
        if (a->w[e] != 0) a->w[e] = 1;
      wflg = 2;
    }
    for (long q = pk1; q < a->pfree; ++q) {
      const int i = a->iw[q];
      const int nvi = -a->nv[i];
      for (int r = 0; r < a->elen[i]; ++r) {
        const int e = a->iw[a->pe[i] + r];
        const int we = a->w[e];
        if (we == 0) continue;
        if (we >= wflg) a->w[e] = we - nvi;
        else a->w[e] = (int)(a->deg[e] + wflg - nvi);
      }
    }

    /* 3. approximate degrees; prune lists; aggressive absorption; mass
     *    elimination; hash keys for supervariable detection */
    for (long q = pk1; q < a->pfree; ++q) {
      const int i = a->iw[q];
      const int p1 = a->pe[i], l = a->len[i], ne = a->elen[i];
      long dext = 0;
      unsigned long h = 0;
      int wp = p1;
      for (int r = 0; r < ne; ++r) {
        const int e = a->iw[p1 + r];
        if (a->w[e] == 0) continue;
        const long we = a->w[e] - wflg;
        if (we > 0) {
          dext += we;
          a->iw[wp++] = e;
          h += (unsigned long)e;
        } else { /* Le inside Lk: absorb e into k */
          a->w[e] = 0;
          a->state[e] = AMD_DEAD;
        }
      }
      const int nke = wp - p1;
      for (int r = ne; r < l; ++r) {
        const int j = a->iw[p1 + r];
        if (a->nv[j] <= 0) continue; /* in Lk, absorbed, or not principal */
        dext += a->nv[j];
        a->iw[wp++] = j;
        h += (unsigned long)j;
      }
      const int kept = wp - p1;
      if (kept == 0) { /* only k is left: eliminate i together with k */
        const int nvi = -a->nv[i];
        degme -= nvi;
        nvk += nvi;
        nel += nvi;
        a->nv[i] = 0;
        a->state[i] = AMD_DEAD;
        a->rep[i] = k;
        continue;
      }
      if (kept >= l) return NK_ERR_ARGUMENT; /* invariant: one entry dropped */
      if (dext < a->deg[i]) a->deg[i] = (int)dext;
      /* list becomes [elements, k, variables] */
      if (kept > nke) a->iw[wp] = a->iw[p1 + nke];
      a->iw[p1 + nke] = k;
      a->len[i] = kept + 1;
      a->elen[i] = nke + 1;
      const int key = (int)(h % (unsigned long)n);
      a->hkey[i] = key;
      a->hnext[i] = a->hhead[key];
      a->hhead[key] = i;
    }
    a->nv[k] = -nvk;

    /* 4. supervariables: equal hash, equal lists => indistinguishable */
    for (long q = pk1; q < a->pfree; ++q) {
      const int i0 = a->iw[q];
      if (a->nv[i0] >= 0) continue;
      const int key = a->hkey[i0];
      int first = a->hhead[key];
      if (first == -1) continue;
      a->hhead[key] = -1;
      for (int i = first; i != -1; i = a->hnext[i]) {
        if (a->nv[i] == 0) continue;
        const int stamp = amd_next_stamp(a);
        for (int r = 0; r < a->len[i]; ++r) a->mark[a->iw[a->pe[i] + r]] = stamp;
        int prev = i;
        for (int j = a->hnext[i]; j != -1;) {
          const int jn = a->hnext[j];
          int same = a->nv[j] != 0 && a->len[j] == a->len[i] && a->elen[j] == a->elen[i];
          for (int r = 0; same && r < a->len[j]; ++r)
            same = a->mark[a->iw[a->pe[j] + r]] == stamp;
          if (same) {
            a->nv[i] += a->nv[j]; /* both negative */
            a->nv[j] = 0;
            a->state[j] = AMD_DEAD;
            a->rep[j] = i;
            a->hnext[prev] = jn;
          } else {
            prev = j;
          }
          j = jn;
        }
      }
    }

    /* 5. final degrees; compact Lk to its principal variables */
    long wpk = pk1;
    for (long q = pk1; q < a->pfree; ++q) {
      const int i = a->iw[q];
      if (a->nv[i] >= 0) continue;
      const int nvi = -a->nv[i];
      long d = (long)a->deg[i] + degme - nvi;
      if (d > n - nel - nvi) d = n - nel - nvi;
      if (d < 0) d = 0;
      a->nv[i] = nvi;
      amd_list_insert(a, i, (int)d);
      if (d < mindeg) mindeg = (int)d;
      a->iw[wpk++] = i;
    }
    a->nv[k] = nvk;
    a->len[k] = (int)(wpk - pk1);
    a->deg[k] = (int)degme;
    a->pfree = wpk;
    if (a->len[k] == 0) { a->state[k] = AMD_DEAD; a->w[k] = 0; }
    if (degme > lemax) lemax = degme;
    wflg += lemax + 1;
  }
  *npiv_out = npiv;
  return NK_SUCCESS;
}

nk_status nk_amd_order(int n, const int *colptr, const int *rowind, int *perm) {
  if (n <= 0 || !colptr || !perm) return NK_ERR_ARGUMENT;
  int *ptr = NULL, *adj = NULL;
  long cap = 0;
  const long nnz = colptr[n];
  nk_status st = sym_adjacency(n, colptr, rowind, nnz / 2 + 2L * n + 16, &ptr, &adj, &cap);
  if (st != NK_SUCCESS) return st;

  amd_ws a;
  memset(&a, 0, sizeof(a));
  a.n = n;
  a.iw = adj;
  a.iwlen = cap;
  const size_t sz = (size_t)n * sizeof(int);
  int *block = (int *)malloc(sz * 16 + sizeof(int));
  if (!block) { free(ptr); free(adj); return NK_ERR_MEMORY; }
  a.pe = block; a.len = block + n; a.elen = block + 2 * n; a.nv = block + 3 * n;
  a.deg = block + 4 * n; a.w = block + 5 * n; a.state = block + 6 * n;
  a.head = block + 7 * n; a.next = block + 8 * n; a.last = block + 9 * n;
  a.hhead = block + 10 * n; a.hnext = block + 11 * n; a.hkey = block + 12 * n;
  a.mark = block + 13 * n; a.rep = block + 14 * n; a.order = block + 15 * n;

  /* dense rows: set aside and ordered last (as AMD does) */
  double dthr = 10.0 * sqrt((double)n);
  if (dthr < 16.0) dthr = 16.0;
  int ndense = 0;
  for (int i = 0; i < n; ++i) {
    a.state[i] = (ptr[i + 1] - ptr[i] > dthr) ? AMD_DEAD : AMD_VAR;
    ndense += a.state[i] == AMD_DEAD;
  }
  /* lists in place, without dense neighbours */
  int wp = 0;
  for (int i = 0; i < n; ++i) {
    const int p0 = ptr[i], p1 = ptr[i + 1];
    a.pe[i] = wp;
    if (a.state[i] == AMD_DEAD) { a.len[i] = 0; continue; }
    for (int p = p0; p < p1; ++p)
      if (a.state[adj[p]] != AMD_DEAD) adj[wp++] = adj[p];
    a.len[i] = wp - a.pe[i];
  }
  a.pfree = wp;
  free(ptr);
  for (int i = 0; i < n; ++i) {
    a.head[i] = a.hhead[i] = -1;
    a.mark[i] = -1;
    a.rep[i] = -1;
    a.elen[i] = 0;
    a.nv[i] = 1;
    a.w[i] = 1;
    a.deg[i] = 0;
  }
  for (int i = 0; i < n; ++i)
    if (a.state[i] == AMD_VAR) amd_list_insert(&a, i, a.len[i]);

  int npiv = 0;
  st = amd_eliminate(&a, ndense, &npiv);
  if (st == NK_SUCCESS) {
    /* each pivot, followed by the nodes eliminated with it (supervariable
     * members and mass-eliminated nodes), then the dense nodes */
    int *pos = a.head, *cnt = a.hhead, *root = a.hnext; /* reuse */
    for (int i = 0; i < n; ++i) { pos[i] = -1; cnt[i] = 0; }
    for (int t = 0; t < npiv; ++t) pos[a.order[t]] = t;
    for (int i = 0; i < n; ++i) {
      root[i] = -1;
      if (pos[i] >= 0 || a.rep[i] < 0) continue;
      int r = a.rep[i];
      while (r >= 0 && pos[r] < 0) r = a.rep[r];
      if (r < 0) { st = NK_ERR_ARGUMENT; break; } /* bookkeeping error */
      root[i] = r;
    }
    for (int i = 0; st == NK_SUCCESS && i < n; ++i)
      if (root[i] >= 0) cnt[pos[root[i]]]++;
  }
  if (st == NK_SUCCESS) {
    int *pos = a.head, *cnt = a.hhead, *root = a.hnext;
    /* start of each pivot's group */
    int *start = a.mark, acc = 0;
    for (int t = 0; t < npiv; ++t) { start[t] = acc; acc += 1 + cnt[t]; }
    for (int t = 0; t < npiv; ++t) perm[start[t]++] = a.order[t];
    for (int i = 0; i < n; ++i)
      if (root[i] >= 0) perm[start[pos[root[i]]]++] = i;
    for (int i = 0; i < n; ++i)
      if (pos[i] < 0 && root[i] < 0) perm[acc++] = i; /* dense */
    if (acc != n) st = NK_ERR_ARGUMENT;
  }
  free(block);
  free(a.iw);
  return st;
}

nk_status nk_symbolic_fill(int n, const int *colptr, const int *rowind,
                           const int *perm, long *lnz, double *flops) {
  int *ptr = NULL, *adj = NULL;
  long cap = 0;
  nk_status st = sym_adjacency(n, colptr, rowind, 0, &ptr, &adj, &cap);
  if (st != NK_SUCCESS) return st;
  int *ws = (int *)malloc((size_t)n * 4 * sizeof(int));
  if (!ws) { free(ptr); free(adj); return NK_ERR_MEMORY; }
  int *pinv = ws, *parent = ws + n, *anc = ws + 2 * n, *mark = ws + 3 * n;
  for (int k = 0; k < n; ++k) pinv[perm[k]] = k;
  /* elimination tree of the permuted matrix (Liu's algorithm with path
   * compression), then row subtrees: row i of L reaches from each neighbour
   * k < i up the tree to i (Liu 1990) */
  for (int k = 0; k < n; ++k) { parent[k] = -1; anc[k] = -1; mark[k] = -1; }
  for (int k = 0; k < n; ++k) {
    const int i = perm[k];
    for (int p = ptr[i]; p < ptr[i + 1]; ++p) {
      int j = pinv[adj[p]];
      while (j != -1 && j < k) {
        const int jn = anc[j];
        anc[j] = k;
        if (jn == -1) parent[j] = k;
        j = jn;
      }
    }
  }
  /* anc is free now: it counts the entries of each column of L */
  int *colcount = anc;
  for (int k = 0; k < n; ++k) colcount[k] = 0;
  long count = 0;
  for (int k = 0; k < n; ++k) {
    const int i = perm[k];
    mark[k] = k;
    for (int p = ptr[i]; p < ptr[i + 1]; ++p) {
      for (int j = pinv[adj[p]]; j < k && mark[j] != k; j = parent[j]) {
        mark[j] = k;
        ++colcount[j];
        ++count;
      }
    }
  }
  /* eliminating pivot j updates the c_j x c_j block of its L column times
   * its U row (same structure under diagonal pivoting): c_j^2 multiply-adds
   * and c_j divisions */
  if (flops) {
    double fl = 0.0;
    for (int j = 0; j < n; ++j) fl += (double)colcount[j] * ((double)colcount[j] + 1.0);
    *flops = fl;
  }
  free(ws); free(ptr); free(adj);
  *lnz = count;
  return NK_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* column grouping and grouped finite differences                      */

nk_status nk_sparse_fd_init(nk_sparse_fd *fd, int n, int nnz, const int *colptr,
                            const int *rowind) {
  memset(fd, 0, sizeof(*fd));
  fd->n = n;
  fd->nnz = nnz;
  fd->colptr = colptr;
  fd->rowind = rowind;
  const int nw = (n + 63) / 64;
  fd->gptr = (int *)malloc((size_t)(n + 1) * sizeof(int));
  fd->gcol = (int *)malloc((size_t)n * sizeof(int));
  fd->ytmp = (double *)malloc((size_t)n * sizeof(double));
  fd->ftmp = (double *)malloc((size_t)n * sizeof(double));
  fd->inc = (double *)malloc((size_t)n * sizeof(double));
  int *rp = (int *)calloc((size_t)n + 1, sizeof(int));
  int *rj = (int *)malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof(int));
  int *colour = (int *)malloc((size_t)n * sizeof(int));
  int *drow = (int *)malloc((size_t)n * sizeof(int));
  uint64_t *forbid = (uint64_t *)calloc((size_t)nw, sizeof(uint64_t));
  uint64_t *dbits = NULL;
  nk_status st = NK_SUCCESS;
  if (!fd->gptr || !fd->gcol || !fd->ytmp || !fd->ftmp || !fd->inc || !rp || !rj ||
      !colour || !drow || !forbid) {
    st = NK_ERR_MEMORY;
    goto done;
  }
  /* row lists of the pattern, columns increasing */
  for (int p = 0; p < nnz; ++p) rp[rowind[p] + 1]++;
  for (int i = 0; i < n; ++i) rp[i + 1] += rp[i];
  memcpy(colour, rp, (size_t)n * sizeof(int)); /* temporary positions */
  for (int j = 0; j < n; ++j)
    for (int p = colptr[j]; p < colptr[j + 1]; ++p) rj[colour[rowind[p]]++] = j;
  /* rows longer than n/64 keep their used colours as a bit set, so a dense
   * row costs n/64 words per entry instead of a scan of the row */
  int ndense = 0;
  for (int i = 0; i < n; ++i)
    drow[i] = (rp[i + 1] - rp[i] > n / 64 + 16) ? ndense++ : -1;
  if (ndense > 0) {
    dbits = (uint64_t *)calloc((size_t)ndense * nw, sizeof(uint64_t));
    if (!dbits) { st = NK_ERR_MEMORY; goto done; }
  }
  /* greedy colouring of the column intersection graph (CPR 1974): each
   * column takes the smallest colour not used by a column sharing a row */
  for (int j = 0; j < n; ++j) colour[j] = -1;
  int ng = 0;
  for (int j = 0; j < n; ++j) {
    if (colptr[j] == colptr[j + 1]) continue; /* no entries: never perturbed */
    for (int p = colptr[j]; p < colptr[j + 1]; ++p) {
      const int i = rowind[p];
      if (drow[i] >= 0) {
        const uint64_t *b = dbits + (size_t)drow[i] * nw;
        for (int w = 0; w < nw; ++w) forbid[w] |= b[w];
        continue;
      }
      for (int q = rp[i]; q < rp[i + 1]; ++q) {
        const int c = colour[rj[q]];
        if (c >= 0) forbid[c >> 6] |= (uint64_t)1 << (c & 63);
      }
    }
    int w = 0;
    while (forbid[w] == ~(uint64_t)0) ++w; /* fewer than n colours in use */
    int c = 64 * w;
    for (uint64_t free_bits = ~forbid[w]; !(free_bits & 1u); free_bits >>= 1) ++c;
    colour[j] = c;
    if (c + 1 > ng) ng = c + 1;
    memset(forbid, 0, (size_t)nw * sizeof(uint64_t));
    for (int p = colptr[j]; p < colptr[j + 1]; ++p) {
      const int i = rowind[p];
      if (drow[i] >= 0) dbits[(size_t)drow[i] * nw + (c >> 6)] |= (uint64_t)1 << (c & 63);
    }
  }
  fd->ngroup = ng;
  for (int g = 0; g <= ng; ++g) fd->gptr[g] = 0;
  for (int j = 0; j < n; ++j)
    if (colour[j] >= 0) fd->gptr[colour[j] + 1]++;
  for (int g = 0; g < ng; ++g) fd->gptr[g + 1] += fd->gptr[g];
  memcpy(drow, fd->gptr, (size_t)ng * sizeof(int)); /* insertion points */
  for (int j = 0; j < n; ++j)
    if (colour[j] >= 0) fd->gcol[drow[colour[j]]++] = j;
done:
  free(rp); free(rj); free(colour); free(drow); free(forbid); free(dbits);
  if (st != NK_SUCCESS) nk_sparse_fd_clear(fd);
  return st;
}

void nk_sparse_fd_clear(nk_sparse_fd *fd) {
  if (!fd) return;
  free(fd->gptr); free(fd->gcol); free(fd->ytmp); free(fd->ftmp); free(fd->inc);
  memset(fd, 0, sizeof(*fd));
}

nk_status nk_sparse_jac_eval(nk_sparse_fd *fd, const nk_ode *ode, double t,
                             const double *y, const double *fy,
                             const double *ewt, double *values, long *nfev) {
  const int n = fd->n;
  if (!ode || ode->n != n || !ode->rhs || !y || !fy) return NK_ERR_ARGUMENT;
  if (ode->jac_csc) {
    if (ode->nnz != fd->nnz || !ode->colptr || (fd->nnz > 0 && !ode->rowind))
      return NK_ERR_ARGUMENT;
    if (ode->colptr != fd->ok_colptr || ode->rowind != fd->ok_rowind) {
      if (memcmp(ode->colptr, fd->colptr, (size_t)(n + 1) * sizeof(int)) != 0 ||
          (fd->nnz > 0 &&
           memcmp(ode->rowind, fd->rowind, (size_t)fd->nnz * sizeof(int)) != 0))
        return NK_ERR_ARGUMENT;
      fd->ok_colptr = ode->colptr;
      fd->ok_rowind = ode->rowind;
    }
    const int rc = ode->jac_csc(t, y, fy, values, ode->user);
    return rc != 0 ? NK_JAC_FAIL : NK_SUCCESS;
  }
  /* forward differences, one rhs call per group; increments as
   * nk_fd_jacobian (CVODE's cvDlsDenseDQJac rule) */
  const double srur = sqrt(DBL_EPSILON);
  double *ytmp = fd->ytmp, *ftmp = fd->ftmp, *inc = fd->inc;
  memcpy(ytmp, y, (size_t)n * sizeof(double));
  for (int g = 0; g < fd->ngroup; ++g) {
    for (int q = fd->gptr[g]; q < fd->gptr[g + 1]; ++q) {
      const int j = fd->gcol[q];
      double floor_inc = ewt ? srur / ewt[j] : srur;
      if (!(floor_inc > 0.0) || !isfinite(floor_inc)) floor_inc = srur;
      const double d = fmax(srur * fabs(y[j]), floor_inc);
      ytmp[j] = y[j] + d;
      inc[j] = ytmp[j] - y[j]; /* exactly representable increment */
    }
    const int rc = ode->rhs(t, ytmp, ftmp, ode->user);
    if (nfev) ++*nfev;
    for (int q = fd->gptr[g]; q < fd->gptr[g + 1]; ++q) ytmp[fd->gcol[q]] = y[fd->gcol[q]];
    if (rc < 0) return NK_RHS_FAIL; /* the rhs asked to abort: not retried */
    if (rc != 0) return NK_JAC_FAIL;
    for (int q = fd->gptr[g]; q < fd->gptr[g + 1]; ++q) {
      const int j = fd->gcol[q];
      const double inv = 1.0 / inc[j];
      for (int p = fd->colptr[j]; p < fd->colptr[j + 1]; ++p) {
        const int i = fd->rowind[p];
        values[p] = (ftmp[i] - fy[i]) * inv;
      }
    }
  }
  return NK_SUCCESS;
}
