require "rails_helper"

RSpec.describe PriceFormatter do
  it "formats euros" do
    expect(described_class.format(BigDecimal("9.5"), "EUR")).to eq("€9.50")
  end
end
