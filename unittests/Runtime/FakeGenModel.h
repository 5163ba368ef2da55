/*===- FakeGenModel.h - Sizes of the fake generation models -------*- C -*-===*
 *
 * Shared by FakeGenModel.c and the tests. The toy arithmetic the fake models
 * perform is described in FakeGenModel.c; the tests recompute it on their
 * own, from this description, not from the fake's code.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_UNITTESTS_RUNTIME_FAKEGENMODEL_H
#define KILN_UNITTESTS_RUNTIME_FAKEGENMODEL_H

/** Logits per token of every fake generation model. */
#define FAKE_GEN_VOCAB 11

/** Decoder: key_cache/value_cache are f32[layers, batch, capacity, heads,
 *  head_dim]. */
#define FAKE_GEN_LAYERS 2
#define FAKE_GEN_KV_HEADS 1
#define FAKE_GEN_HEAD_DIM 2

/** Mamba: conv_state f32[layers, batch, d_inner, K-1], ssm_state
 *  f32[layers, batch, d_inner, N]. */
#define FAKE_GEN_D_INNER 3
#define FAKE_GEN_CONV_WIDTH 2
#define FAKE_GEN_STATE_SIZE 4

#endif /* KILN_UNITTESTS_RUNTIME_FAKEGENMODEL_H */
