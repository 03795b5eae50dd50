/**
 * `probe --cleanup`: deletes the throwaway clients of runs that were killed before their own cleanup
 * (kill -9, a crash, a lost network), found by the name prefix only `probe` uses.
 */
import { type GenesysApi, MAX_OAUTH_CLIENT_PAGE_SIZE } from "../../../lambda/shared/genesys/api.ts";
import { GenesysNotFoundError } from "../../../lambda/shared/genesys/errors.ts";
import { PROBE_CLIENT_PREFIX, retireClient } from "./measure.ts";

/** Pages read at most (100 clients each), as `findOAuthClientsByName` does. */
const MAX_PAGES = 20;

/** Deletes every client whose name starts with {@link PROBE_CLIENT_PREFIX}; returns what it deleted. */
export async function cleanupLeftovers(
  adminApi: GenesysApi,
  progress: (line: string) => void,
): Promise<{ id: string; name: string }[]> {
  const leftovers: { id: string; name: string }[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const listing = await adminApi.listOAuthClients({
      pageSize: MAX_OAUTH_CLIENT_PAGE_SIZE,
      pageNumber: page,
    });
    for (const entity of listing.entities) {
      if (entity.name.startsWith(PROBE_CLIENT_PREFIX)) leftovers.push({ id: entity.id, name: entity.name });
    }
    if (listing.entities.length < MAX_OAUTH_CLIENT_PAGE_SIZE || (listing.pageCount ?? 1) <= page) break;
  }
  const deleted: { id: string; name: string }[] = [];
  for (const leftover of leftovers) {
    try {
      await retireClient(adminApi, await adminApi.getOAuthClient(leftover.id));
    } catch (error) {
      if (!(error instanceof GenesysNotFoundError)) throw error;
    }
    progress(`probe: deleted the leftover client ${leftover.name} (${leftover.id})`);
    deleted.push(leftover);
  }
  return deleted;
}
