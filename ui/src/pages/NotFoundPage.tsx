import { PageHeading } from '../components/PageHeading'
import { Link } from '../router'

export function NotFoundPage() {
  return (
    <section>
      <PageHeading title="Page not found" />
      <p>There is nothing at this address.</p>
      <p>
        <Link to="/">Go to the start page</Link> or <Link to="/tx/add">upload a transaction</Link>.
      </p>
    </section>
  )
}
