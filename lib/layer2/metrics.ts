// Upstream's layer-2 counters (spec section 5), registered with prom-client.
import { Counter, register as defaultRegistry, type Registry } from 'prom-client';

/** What the announcer counts; every label is the address's canonical text. */
export interface Layer2Counters {
  /** An ARP request or Neighbor Solicitation for an announced address arrived. */
  requestReceived(ip: string): void;
  /** A reply was sent for it. */
  responseSent(ip: string): void;
  /** One gratuitous ARP frame or unsolicited Neighbor Advertisement was sent. */
  gratuitousSent(ip: string): void;
}

export const noCounters: Layer2Counters = {
  requestReceived() {},
  responseSent() {},
  gratuitousSent() {},
};

/**
 * metallb_layer2_requests_received, metallb_layer2_responses_sent and
 * metallb_layer2_gratuitous_sent, each with label `ip`, in `registry` (prom-client's default
 * registry unless given). Calling it twice for one registry reuses the registered counters.
 */
export function layer2PromCounters(registry: Registry = defaultRegistry): Layer2Counters {
  const counter = (name: string, help: string): Counter<'ip'> => {
    const existing = registry.getSingleMetric(name);
    if (existing) return existing as Counter<'ip'>;
    return new Counter({ name, help, labelNames: ['ip'], registers: [registry] });
  };
  const requests = counter('metallb_layer2_requests_received', 'Number of layer2 requests received for owned IPs');
  const responses = counter('metallb_layer2_responses_sent', 'Number of layer2 responses sent for owned IPs');
  const gratuitous = counter('metallb_layer2_gratuitous_sent', 'Number of gratuitous layer2 packets sent for owned IPs');
  return {
    requestReceived: (ip) => requests.inc({ ip }),
    responseSent: (ip) => responses.inc({ ip }),
    gratuitousSent: (ip) => gratuitous.inc({ ip }),
  };
}
