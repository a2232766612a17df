/** Regions devices are placed in. Coordinates place them on the explorer's world map. */
export type Continent = "North America" | "South America" | "Europe" | "Asia" | "Oceania" | "Africa";

export interface Region {
  id: string;
  name: string;
  continent: Continent;
  latitude: number;
  longitude: number;
  /** Where suppliers in this region typically sit (country ISO 3166-1 alpha-2, city). */
  sites: readonly { country: string; city: string }[];
}

export const REGIONS: readonly Region[] = [
  { id: "us-east", name: "US East", continent: "North America", latitude: 39.0, longitude: -77.5, sites: [{ country: "US", city: "Ashburn" }, { country: "US", city: "New York" }, { country: "US", city: "Atlanta" }] },
  { id: "us-central", name: "US Central", continent: "North America", latitude: 41.9, longitude: -93.6, sites: [{ country: "US", city: "Chicago" }, { country: "US", city: "Dallas" }] },
  { id: "us-west", name: "US West", continent: "North America", latitude: 37.4, longitude: -122.1, sites: [{ country: "US", city: "San Jose" }, { country: "US", city: "Los Angeles" }, { country: "US", city: "Seattle" }] },
  { id: "ca-central", name: "Canada Central", continent: "North America", latitude: 45.5, longitude: -73.6, sites: [{ country: "CA", city: "Montreal" }, { country: "CA", city: "Toronto" }] },
  { id: "sa-east", name: "South America East", continent: "South America", latitude: -23.5, longitude: -46.6, sites: [{ country: "BR", city: "São Paulo" }, { country: "AR", city: "Buenos Aires" }] },
  { id: "eu-west", name: "Europe West", continent: "Europe", latitude: 52.4, longitude: 4.9, sites: [{ country: "NL", city: "Amsterdam" }, { country: "FR", city: "Paris" }, { country: "GB", city: "London" }] },
  { id: "eu-central", name: "Europe Central", continent: "Europe", latitude: 50.1, longitude: 8.7, sites: [{ country: "DE", city: "Frankfurt" }, { country: "PL", city: "Warsaw" }, { country: "CZ", city: "Prague" }] },
  { id: "eu-north", name: "Europe North", continent: "Europe", latitude: 59.3, longitude: 18.1, sites: [{ country: "SE", city: "Stockholm" }, { country: "FI", city: "Helsinki" }, { country: "NO", city: "Oslo" }] },
  { id: "ap-northeast", name: "Asia Pacific Northeast", continent: "Asia", latitude: 35.7, longitude: 139.7, sites: [{ country: "JP", city: "Tokyo" }, { country: "KR", city: "Seoul" }] },
  { id: "ap-southeast", name: "Asia Pacific Southeast", continent: "Asia", latitude: 1.35, longitude: 103.8, sites: [{ country: "SG", city: "Singapore" }, { country: "VN", city: "Ho Chi Minh City" }] },
  { id: "ap-south", name: "Asia Pacific South", continent: "Asia", latitude: 19.1, longitude: 72.9, sites: [{ country: "IN", city: "Mumbai" }, { country: "IN", city: "Bengaluru" }] },
  { id: "au-east", name: "Australia East", continent: "Oceania", latitude: -33.9, longitude: 151.2, sites: [{ country: "AU", city: "Sydney" }, { country: "AU", city: "Melbourne" }] },
  { id: "af-south", name: "Africa South", continent: "Africa", latitude: -26.2, longitude: 28.0, sites: [{ country: "ZA", city: "Johannesburg" }, { country: "KE", city: "Nairobi" }] },
];

export const REGION_IDS = REGIONS.map((region) => region.id) as [string, ...string[]];

export function region(id: string): Region | undefined {
  return REGIONS.find((candidate) => candidate.id === id);
}
