// Child process of the crash-recovery test: creates and saves a document in the database named on the command
// line, prints what it saved, then kills itself with SIGKILL (no close, no exit handlers), as a crash would.
import { openLibraryDatabase } from '../library/database.ts';
import { encodePng } from '../formats/png.ts';
import { SqliteDocumentStore } from './document-store.ts';

const db = openLibraryDatabase(process.argv[2]);
const store = new SqliteDocumentStore(db);
const { record } = store.create({ width: 64, height: 64, name: 'Untitled' });
const rasterId = record.layers[0].rasterId;
const pngBase64 = encodePng({ width: 64, height: 64, channels: 4, data: new Uint8Array(64 * 64 * 4).fill(200) }).toString('base64');
for (let revision = 2; revision <= 7; revision++) {
  store.save({ id: record.id, revision, record: { ...record, name: revision === 7 ? 'Before the crash' : `Draft ${revision}` }, rasters: [{ id: rasterId, pngBase64 }] });
}
store.open(record.id);
process.stdout.write(`${JSON.stringify({ id: record.id, rasterId, pngBase64 })}\n`, () => process.kill(process.pid, 'SIGKILL'));
