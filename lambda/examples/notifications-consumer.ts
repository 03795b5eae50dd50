/**
 * An example notifications consumer: a long-running process (a container task, not a Lambda function —
 * a channel lives for hours, a Lambda invocation at most 15 minutes) that follows the presence of a few
 * Genesys Cloud users with a token from the vending function, and prints one line per change (never a
 * token or the channel's address).
 *
 * Give it `TOKEN_VENDOR_FUNCTION_NAME` (the vendor alias of its credential, `<function>:<credential>`) and
 * `lambda:InvokeFunction` on that alias only, as the request/response example (consumer.ts). It holds no
 * client secret: every REST call of the helper (channel create, subscriptions) fetches the token right
 * before it, and a channel is replaced before its 24 hours end without losing an event.
 *
 * On Node 20 pass a WebSocket class (`import { WebSocket } from "undici"`, or the ws package's); Node 22+
 * has one built in.
 */
import {
  type NotificationEvent,
  type NotificationGap,
  type NotificationsHandle,
  openNotifications,
} from "../client/notifications.ts";

/** The body of a `v2.users.{id}.presence` event (the fields this example reads). */
interface PresenceBody {
  presenceDefinition?: { systemPresence?: string };
}

/** What the example prints per event. */
export interface PresenceLine {
  userId: string;
  presence: string;
}

/** `v2.users.{id}.presence` → the user id. */
export function userIdOf(topicName: string): string | undefined {
  return /^v2\.users\.([^.]+)\.presence$/.exec(topicName)?.[1];
}

/** Turns an event into the line printed (undefined for other topics). */
export function presenceLine(event: NotificationEvent): PresenceLine | undefined {
  const userId = userIdOf(event.topicName);
  if (userId === undefined) return undefined;
  const body = event.eventBody as PresenceBody;
  return { userId, presence: body.presenceDefinition?.systemPresence ?? "unknown" };
}

/**
 * Follows the presence of `userIds` until the returned handle is closed. `print` receives one line per
 * change and one per gap (events that may have been lost while a dead socket was replaced: re-read the
 * users' presence through the Platform API if a gap matters to you).
 */
export function followPresence(
  userIds: readonly string[],
  print: (line: PresenceLine | { gap: NotificationGap }) => void = (line) =>
    console.log(JSON.stringify(line)),
): Promise<NotificationsHandle> {
  return openNotifications({
    topics: userIds.map((id) => `v2.users.${id}.presence`),
    onEvent(event) {
      const line = presenceLine(event);
      if (line) print(line);
    },
    onGap(gap) {
      print({ gap });
    },
  });
}

/** `node notifications-consumer.js <userId>…`: runs until SIGTERM/SIGINT, then closes the channel. */
export async function main(userIds: readonly string[]): Promise<void> {
  const handle = await followPresence(userIds);
  const stop = () => void handle.close();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const { error } = await handle.closed;
  if (error) throw error; // the helper gave up: let the orchestrator restart the task
}
