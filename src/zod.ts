import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

/**
 * The one `z` of the code base: zod extended with `.openapi()`, so contracts written anywhere (domain
 * folders included) carry their OpenAPI metadata without depending on the gateway.
 */
extendZodWithOpenApi(z);

export { z };
