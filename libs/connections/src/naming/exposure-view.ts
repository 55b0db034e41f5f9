import { connectionOf, exposedToolName } from './tool-naming';
import { DownstreamUri, exposeUri, exposeUriTemplate, resolveExposedUri } from './resource-uri';

/**
 * How a door shows its connections' prompts and resources: the names and URIs a client sees, and back. The aggregated
 * /mcp prefixes them (PREFIXED_VIEW), an endpoint too for the connections it selects (selectedView); an unprefixed
 * endpoint serves its one connection's as they are (transparentView).
 */
export interface ExposureView {
  /** Whether the door serves this connection's prompts and resources at all. */
  includesConnection(connection: string): boolean;
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
  includesConnection: () => true,
  promptName: exposedToolName,
  uri: exposeUri,
  uriTemplate: exposeUriTemplate,
  promptConnection: connectionOf,
  resolveUri: resolveExposedUri,
};

/** One connection served as it is (an unprefixed endpoint): names and URIs are the downstream's own. */
export function transparentView(connection: string): ExposureView {
  return {
    includesConnection: (candidate) => candidate === connection,
    promptName: (_connection, prompt) => prompt,
    uri: (_connection, uri) => uri,
    uriTemplate: (_connection, template) => template,
    promptConnection: () => connection,
    resolveUri: (uri) => ({ connection, uri }),
  };
}

/** The prefixed view of the connections a door selects. */
export function selectedView(includesConnection: (connection: string) => boolean): ExposureView {
  return { ...PREFIXED_VIEW, includesConnection };
}
