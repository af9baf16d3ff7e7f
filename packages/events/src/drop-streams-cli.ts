// Deletes JetStream streams by name: `tsx drop-streams-cli.ts <nats-url> <stream>...`. The
// real-services test tier gives every run streams of its own and removes them when it ends.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const [url, ...streams] = process.argv.slice(2);
if (!url || !streams.length) {
  console.error('usage: drop-streams-cli.ts <nats-url> <stream>...');
  process.exit(2);
}
const connection = await connect({ servers: url, timeout: 5_000 });
try {
  const manager = await jetstreamManager(connection);
  for (const name of streams) {
    try {
      await manager.streams.delete(name);
    } catch {
      // Not there (the run never created it): nothing to drop.
    }
  }
} finally {
  await connection.close();
}
