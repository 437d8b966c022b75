require "bigdecimal"
require_relative "../../lib/rounding"

class PriceFormatter
  SYMBOLS = { "EUR" => "€", "USD" => "$", "GBP" => "£" }.freeze

  def self.format(amount)
    "#{SYMBOLS.fetch(currency)}#{Rounding.commercial(amount)}"
  end
end
