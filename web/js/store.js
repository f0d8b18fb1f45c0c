// Small persistent records in IndexedDB (available in insecure contexts too), so that a
// reloaded or reopened page can resume: the receiver's verified progress per file, the
// sender's file list and block hashes, and file-system handles the user granted.
//
// Stores: 'rooms' (key: room id), 'digests' (key: file key, the sender's block hashes).

const DB_NAME = 'p2pshare';
const DB_VERSION = 1;
const STORES = ['rooms', 'digests'];

let dbPromise = null;

function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      if (!globalThis.indexedDB) {
        reject(new Error('IndexedDB is not available'));
        return;
      }
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        for (const name of STORES) {
          if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name);
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    dbPromise.catch(() => {
      dbPromise = null;
    });
  }
  return dbPromise;
}

function run(storeName, mode, action) {
  return openDb().then(
    (db) =>
      new Promise((resolve, reject) => {
        const tx = db.transaction(storeName, mode);
        const request = action(tx.objectStore(storeName));
        tx.oncomplete = () => resolve(request?.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      }),
  );
}

/** @returns {Promise<any>} the record, or undefined (also when storage is unavailable) */
export async function load(store, key) {
  try {
    return await run(store, 'readonly', (s) => s.get(key));
  } catch {
    return undefined;
  }
}

/** Best effort: a failure to persist must never stop a transfer. */
export async function save(store, key, value) {
  try {
    await run(store, 'readwrite', (s) => s.put(value, key));
    return true;
  } catch {
    return false;
  }
}

export async function remove(store, key) {
  try {
    await run(store, 'readwrite', (s) => s.delete(key));
  } catch {
    // nothing to do
  }
}

/** @returns {Promise<[string, any][]>} */
export async function entries(store) {
  try {
    const db = await openDb();
    return await new Promise((resolve, reject) => {
      const out = [];
      const tx = db.transaction(store, 'readonly');
      const cursor = tx.objectStore(store).openCursor();
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (c) {
          out.push([c.key, c.value]);
          c.continue();
        }
      };
      tx.oncomplete = () => resolve(out);
      tx.onerror = () => reject(tx.error);
    });
  } catch {
    return [];
  }
}
