package postgres

import (
	"context"

	"tourd/internal/userdata"
)

// importChunk is how many upserts of an import share a transaction.
const importChunk = 200

// importAll applies items in order, importChunk of them per write (one
// transaction, one round trip). When a chunk fails, its items are applied
// one by one with single, so that only the failing ones fail.
func importAll[T any](ctx context.Context, s *Store, tn userdata.Tenant, items []T,
	queue func(*write, T, func(*entity, bool)) error, single func(T) (bool, error)) []userdata.ImportResult {
	res := make([]userdata.ImportResult, len(items))
	for start := 0; start < len(items); start += importChunk {
		chunk := items[start:min(start+importChunk, len(items))]
		out := res[start : start+len(chunk)]
		err := s.write(ctx, "import", tn, func(w *write) error {
			for i, it := range chunk {
				w.now = s.now() // each line is stamped as its own upsert would be, as on SQLite
				if err := queue(w, it, func(_ *entity, created bool) { out[i].Created = created }); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			continue
		}
		for i, it := range chunk {
			out[i].Created, out[i].Err = single(it)
		}
	}
	return res
}
