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
/* As kiln-compile writes it: Kiln's version and the data checksum of kScale
 * (dataChecksum64 of its 16 bytes), padded to 8 bytes. */
#define FAKE_WEIGHTS_HEADER_METADATA                                           \
  "{\"__metadata__\":{\"kiln_version\":\"fake-0.0\",\"kiln_data_checksum\":"   \
  "\"fnv1a64w:67b3266930ab6fed\"},\"scale\":{\"dtype\":\"F32\",\"shape\":[4],"  \
  "\"data_offsets\":[0,16]}} "

#define FAKE_WEIGHTS_DATA_SIZE 16

/** The message the "fail" entry reports. */
#define FAKE_FAILURE_MESSAGE "deliberate failure for testing"

#endif /* KILN_UNITTESTS_RUNTIME_FAKEMODELWEIGHTS_H */
