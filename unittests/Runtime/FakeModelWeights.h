/*===- FakeModelWeights.h - Weights the fake model expects ---------*- C -*-===*
 *
 * Shared by FakeModel.c and the tests so that the safetensors header the
 * tests write and the hash the fake descriptor reports come from one string.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_UNITTESTS_RUNTIME_FAKEMODELWEIGHTS_H
#define KILN_UNITTESTS_RUNTIME_FAKEMODELWEIGHTS_H

/** The JSON header of model.weights.safetensors: one f32[4] "scale". */
#define FAKE_WEIGHTS_HEADER_UNPADDED                                           \
  "{\"scale\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}"

/** The header padded with spaces, as safetensors writers do, so that the
 *  data section starts at file offset 72, a multiple of 8. */
#define FAKE_WEIGHTS_HEADER FAKE_WEIGHTS_HEADER_UNPADDED "     "

/** Bytes in the data section: the four floats of "scale". */
#define FAKE_WEIGHTS_DATA_SIZE 16

/** The message the "fail" entry reports. */
#define FAKE_FAILURE_MESSAGE "deliberate failure for testing"

#endif /* KILN_UNITTESTS_RUNTIME_FAKEMODELWEIGHTS_H */
