package billing

type Invoice struct {
	Number string
	Total  int64
}
