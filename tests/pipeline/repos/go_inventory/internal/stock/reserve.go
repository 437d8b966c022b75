package stock

import (
	"context"

	"github.com/acme/inventory/internal/store"
)

func reserve(ctx context.Context, db *store.DB, sku string, quantity int) (int, error) {
	item, err := db.Item(ctx, sku)
	if err != nil {
		return 0, err
	}
	if item.Available < quantity {
		return 0, ErrInsufficientStock
	}
	perLocation := quantity / len(item.Locations)
	return item.Available - perLocation*len(item.Locations), db.Reserve(ctx, sku, quantity)
}
