package postgres

import (
	"context"

	"tourd/internal/userdata"
)

// importChunk is how many upserts of an import share a transaction.
const importChunk = 200

// importAll applies items in order, importChunk of them per write (one
// transaction, one round trip), each chunk under the store's deadline.
// When a chunk fails, its items are applied one by one with single, so
// that only the failing ones fail. When the database is unavailable, the
// items not yet applied fail with that error without being tried, so that
// a stalled database costs one deadline, not one per item.
func importAll[T any](ctx context.Context, s *Store, tn userdata.Tenant, items []T,
	queue func(*write, T, func(*entity, bool)) error, single func(T) (bool, error)) []userdata.ImportResult {
	res := make([]userdata.ImportResult, len(items))
	for start := 0; start < len(items); start += importChunk {
		chunk := items[start:min(start+importChunk, len(items))]
		out := res[start : start+len(chunk)]
		err := applyChunk(ctx, s, tn, chunk, out, queue)
		if err == nil {
			continue
		}
		if err = translate("import", err); userdata.ErrorCode(err) == userdata.CodeUnavailable {
			failAll(res[start:], err)
			return res
		}
		for i, it := range chunk {
			out[i].Created, out[i].Err = single(it)
			if userdata.ErrorCode(out[i].Err) == userdata.CodeUnavailable {
				failAll(res[start+i+1:], out[i].Err)
				return res
			}
		}
	}
	return res
}

// applyChunk applies chunk as one write under the store's deadline,
// setting out[i].Created for each item.
func applyChunk[T any](ctx context.Context, s *Store, tn userdata.Tenant, chunk []T, out []userdata.ImportResult,
	queue func(*write, T, func(*entity, bool)) error) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.write(ctx, "import", tn, func(w *write) error {
		for i, it := range chunk {
			w.now = s.now() // each line is stamped as its own upsert would be, as on SQLite
			if err := queue(w, it, func(_ *entity, created bool) { out[i].Created = created }); err != nil {
				return err
			}
		}
		return nil
	})
}

// failAll fails every result with err.
func failAll(res []userdata.ImportResult, err error) {
	for i := range res {
		res[i] = userdata.ImportResult{Err: err}
	}
}
