// Loaded by path (DataConverter.failureConverterPath): the workflow bundle, the worker and every
// client share it. Failure messages and stack traces can hold names and UPNs; with
// `encodeCommonAttributes` they travel in a payload (the message reads "Encoded failure"),
// which the payload codec (worker/codec.ts) encrypts. Decoding works with any client.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
