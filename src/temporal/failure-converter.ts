import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces move into the failure's `encodedAttributes` payload, so the payload codec
 * encrypts them too (a tool's error can quote its arguments; a model error can quote the prompt). The history
 * then shows "Encoded failure" in the message field. Loaded by path (`failureConverterPath`) in workers,
 * clients and the workflow bundle, so it may import only what workflow code can.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
