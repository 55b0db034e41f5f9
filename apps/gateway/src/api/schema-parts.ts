import { z } from 'zod';

// Pieces of the response schemas that the OpenAPI document needs written one way.

/**
 * A string or null. nestjs-zod 5.5 publishes a bare `z.string().nullable()` at the top of a DTO as an array of
 * strings (BenLorantfy/nestjs-zod#473), which the dashboard's generated types then believe; any constraint, even
 * min(0), keeps it a nullable string. Use it for every nullable string of a response.
 */
export const nullableText = () => z.string().min(0).nullable();

/** A date as it leaves: an ISO 8601 string (a codec: the serializer encodes, the document shows the string). */
export const timestamp = z.codec(z.iso.datetime(), z.date(), { decode: (text) => new Date(text), encode: (date) => date.toISOString() });
