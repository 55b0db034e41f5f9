/** The version Gatehouse reports to MCP peers (both ways) and in OCSF events' metadata.product.version. */
export const GATEHOUSE_VERSION = '0.1.0';
