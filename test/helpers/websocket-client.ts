// The RFC 6455 client moved to src/probes/ (verify's WebSocket probe uses it in production).
export * from '../../src/probes/websocket-client.js';
