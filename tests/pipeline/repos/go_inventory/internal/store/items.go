package store

import "context"

type Item struct {
	SKU       string
	Available int
	Locations []string
}

func (db *DB) Item(ctx context.Context, sku string) (Item, error) {
	var item Item
	err := db.pool.QueryRow(ctx, "SELECT sku, available, locations FROM items WHERE sku = $1", sku).
		Scan(&item.SKU, &item.Available, &item.Locations)
	return item, err
}

func (db *DB) Reserve(ctx context.Context, sku string, quantity int) error {
	_, err := db.pool.Exec(ctx, "UPDATE items SET available = available - $2 WHERE sku = $1", sku, quantity)
	return err
}
