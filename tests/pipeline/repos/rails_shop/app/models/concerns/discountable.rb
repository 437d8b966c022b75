module Discountable
  extend ActiveSupport::Concern

  def discount
    coupon ? coupon.amount : 0
  end
end
