// How one engine address (unix socket, tcp:// with TLS, ssh://) becomes a dockerode client's options.
import type { DockerOptions } from "dockerode";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** One Docker engine Mend may place containers on. */
export interface EngineHost {
  /** Short name, reported as `usage.engine` and in /healthz. */
  name: string;
  /** `unix:///path`, `tcp://host:port` or `ssh://user@host[:port]`. */
  url: string;
}

/**
 * dockerode options for an engine address. `tcp://` uses TLS when `certPath` holds `ca.pem`,
 * `cert.pem` and `key.pem` (Docker's DOCKER_CERT_PATH layout); `ssh://` uses the ssh agent.
 * @example dockerOptionsFor("tcp://10.0.0.2:2376", "/etc/mend/docker-certs") // { protocol: "https", ... }
 */
export function dockerOptionsFor(url: string, certPath?: string): DockerOptions {
  if (url.startsWith("/")) return { socketPath: url };
  const u = new URL(url);
  switch (u.protocol) {
    case "unix:":
      return { socketPath: decodeURIComponent(u.pathname) };
    case "tcp:": {
      const port = Number(u.port || (certPath ? 2376 : 2375));
      if (certPath === undefined) return { protocol: "http", host: u.hostname, port };
      return {
        protocol: "https",
        host: u.hostname,
        port,
        ca: readFileSync(join(certPath, "ca.pem")),
        cert: readFileSync(join(certPath, "cert.pem")),
        key: readFileSync(join(certPath, "key.pem")),
      };
    }
    case "ssh:":
      return {
        protocol: "ssh",
        host: u.hostname,
        port: Number(u.port || 22),
        ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
        sshOptions: { ...(process.env.SSH_AUTH_SOCK ? { agent: process.env.SSH_AUTH_SOCK } : {}) },
      };
    default:
      throw new TypeError(
        `unsupported Docker engine address ${JSON.stringify(url)} (unix://, tcp://, ssh://)`,
      );
  }
}
