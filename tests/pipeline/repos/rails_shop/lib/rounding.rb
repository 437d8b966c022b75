module Rounding
  def self.commercial(amount)
    BigDecimal(amount.to_s).round(2, :half_up).to_s("F")
  end
end
