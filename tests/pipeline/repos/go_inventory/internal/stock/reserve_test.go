package stock

import "testing"

func TestErrInsufficientStockMessage(t *testing.T) {
	if ErrInsufficientStock.Error() != "insufficient stock" {
		t.Fatal("unexpected message")
	}
}
