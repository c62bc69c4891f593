import { Client } from 'undici';
import type { LoadRequest, LoadResponse } from './load.ts';

/**
 * Tracks the writes of a load run: every POST /items answered 201 is an acknowledged write, remembered by
 * id; `verify` later reads each back through the API.
 */
export interface WriteLedger {
  /** A load request: every `writeEvery`-th request a POST /items, the others GET /items. */
  next(index: number): LoadRequest;
  onResponse(response: LoadResponse): void;
  acknowledged(): string[];
  /** GET /items/:id for every acknowledged write; answers how many were found (200) and the ids missing. */
  verify(url: string): Promise<{ found: number; missing: string[] }>;
}

export function createWriteLedger(apiKey: string, writeEvery = 2): WriteLedger {
  const ids: string[] = [];
  const headers = { 'x-api-key': apiKey, 'content-type': 'application/json' };
  return {
    next(index) {
      if (index % writeEvery === 0) {
        return { method: 'POST', path: '/items', headers, body: JSON.stringify({ name: `write-${index}` }) };
      }
      return { method: 'GET', path: '/items?limit=5', headers: { 'x-api-key': apiKey } };
    },
    onResponse(response) {
      if (response.request.method === 'POST' && response.status === 201) {
        ids.push((JSON.parse(response.body) as { id: string }).id);
      }
    },
    acknowledged: () => [...ids],
    async verify(url) {
      const client = new Client(new URL(url).origin, { pipelining: 1 });
      const missing: string[] = [];
      let found = 0;
      try {
        for (const id of ids) {
          let status = 0;
          // A shed (503) or limited (429) read says nothing about the write: ask again, a bounded number of times.
          for (let attempt = 0; attempt < 50; attempt++) {
            const response = await client.request({
              method: 'GET',
              path: `/items/${id}`,
              headers: { 'x-api-key': apiKey },
            });
            await response.body.text();
            status = response.statusCode;
            if (status !== 503 && status !== 429) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          if (status === 200) found++;
          else missing.push(`${id} (${status})`);
        }
      } finally {
        await client.close();
      }
      return { found, missing };
    },
  };
}
