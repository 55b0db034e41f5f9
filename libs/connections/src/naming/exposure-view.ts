import { connectionOf, exposedToolName } from './tool-naming';
import { DownstreamUri, exposeUri, exposeUriTemplate, resolveExposedUri } from './resource-uri';

/**
 * How a door shows one connection's prompts and resources: the names and URIs a client sees, and back. The aggregated
 * /mcp prefixes them (PREFIXED_VIEW); a door serving one connection as it is would map them to themselves.
 */
export interface ExposureView {
  promptName(connection: string, prompt: string): string;
  /** Null when the URI has no exposed form (it is then not listed). */
  uri(connection: string, uri: string): string | null;
  uriTemplate(connection: string, template: string): string | null;
  /** The connection an exposed prompt name belongs to, or null (the name is then unknown). */
  promptConnection(exposed: string): string | null;
  /** The connection and downstream URI of an exposed URI (or template), or null when this view did not produce it. */
  resolveUri(exposed: string): DownstreamUri | null;
}

/** `<connection>_<prompt>` as tools are named; URIs through the codec of resource-uri.ts. */
export const PREFIXED_VIEW: ExposureView = {
  promptName: exposedToolName,
  uri: exposeUri,
  uriTemplate: exposeUriTemplate,
  promptConnection: connectionOf,
  resolveUri: resolveExposedUri,
};
