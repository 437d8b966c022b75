'use strict';

function total(items) {
  const cents = items.reduce((sum, item) => sum + item.cents, 0);
  return formatPrice(cents);
}

module.exports = { total };
